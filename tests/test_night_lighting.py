"""Night-street lighting (glows, lamps) and MLSM's street-lit synthetic training pairs."""
import cv2
import numpy as np
import pytest

from facebench.mlsm.data import DataConfig, TrainingData
from facebench.night_lighting import Lamp, add_lamps, draw_lamps, glow_map, light_scene


def _photo(seed: int, size: int = 128) -> np.ndarray:
    """A bright, textured uint8 RGB photo stand-in (mean about 0.5)."""
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(60, 200, (size, size, 3)).astype(np.uint8), (0, 0), 2)


def test_glow_map_spans_a_dim_floor_to_full_light():
    for seed in range(5):
        light = glow_map(np.random.default_rng(seed), 320, 240)
        assert light.shape == (240, 320)
        assert 0.01 <= light.min() <= 0.07 and light.max() <= 1.0
        assert light.max() / light.min() > 8  # street lighting: brightness varies by an order of magnitude


def test_lamp_core_saturates_and_fades_and_outside_lamps_draw_nothing():
    dark = np.full((64, 64, 3), 10, np.uint8)
    lit = add_lamps(dark, [Lamp(x=32, y=32, sigma=3, peak=10, color=np.ones(3))])
    assert (lit[32, 32] == 255).all()
    assert (lit[0, 0] == 10).all() and 10 < lit[32, 42, 0] < lit[32, 38, 0] < 255
    outside = [Lamp(x=-100, y=-100, sigma=3, peak=10, color=np.ones(3)),
               Lamp(x=200, y=30, sigma=3, peak=10, color=np.ones(3))]
    assert np.array_equal(add_lamps(dark, outside), dark)


def test_draw_lamps_shifts_centres_into_a_window():
    frame = draw_lamps(np.random.default_rng(1), 200, 100)
    window = draw_lamps(np.random.default_rng(1), 200, 100, left=50, top=25)
    assert len(frame) == len(window) >= 2
    for whole, part in zip(frame, window):
        assert (part.x, part.y) == pytest.approx((whole.x - 50, whole.y - 25))
        assert 0 <= whole.y <= 75 and 1.5 <= whole.sigma <= 5 and 2 <= whole.peak <= 30


def test_light_scene_scales_srgb_by_the_map():
    rgb = np.full((4, 4, 3), 200, np.uint8)
    light = np.full((4, 4), 0.5)
    assert (light_scene(rgb, light) == 100).all()


def _street_data(street_lights: float, photo: np.ndarray) -> TrainingData:
    config = DataConfig(crop=64, max_side=0, scale_range=(1.0, 1.0), qfs=(100,), street_lights=street_lights,
                        test_count=0, val_count=0)
    return TrainingData(config, synthetic=[photo])


def _patch_means(dark: np.ndarray) -> np.ndarray:
    """Mean luma of the 16 16x16 patches of a 64x64 crop (noise averaged out)."""
    luma = dark.astype(np.float64).mean(axis=2)
    return luma.reshape(4, 16, 4, 16).mean(axis=(1, 3)).ravel()


def test_street_lit_pairs_vary_in_light_across_the_crop_and_keep_an_evenly_lit_target():
    photo = _photo(0, size=64)
    spread = {}
    for street_lights in (0.0, 1.0):
        data, ratios = _street_data(street_lights, photo), []
        for step in range(40):
            dark, target = data._synthetic_pair(np.random.default_rng([0, step]))
            means = _patch_means(dark) + 0.5
            ratios.append(means.max() / means.min())
            # the target is the (possibly mirrored) photo, evenly lit; only lamp pixels differ
            unchanged = max(np.mean(np.all(target == view, axis=2)) for view in (photo, photo[:, ::-1]))
            assert unchanged > 0.5
        spread[street_lights] = np.median(ratios)
    assert spread[0.0] < 2.0 and spread[1.0] > 3 * spread[0.0]


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_street_lights_outside_zero_one_is_a_one_line_error(bad):
    with pytest.raises(ValueError, match=r"street_lights must be a share in \[0, 1\]"):
        DataConfig(street_lights=bad)
