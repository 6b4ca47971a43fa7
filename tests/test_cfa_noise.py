"""The night camera's colour filter array (`cfa=True`, `--cfa-noise`): noise recorded per photosite of an
RGGB mosaic, then demosaiced, is shared by neighbouring pixels as in real night frames."""
import cv2
import numpy as np
import pytest

from facebench.lowlight import bayer_mosaic, darken_like_darkface, demosaic, night_camera
from facebench.mlsm.data import DataConfig, TrainingData


def _lag1_luma_correlation(rgb: np.ndarray) -> float:
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[:, :, 0].astype(np.float64)
    luma -= luma.mean()
    return float(np.corrcoef(luma[:, :-1].ravel(), luma[:, 1:].ravel())[0, 1])


def test_bayer_mosaic_samples_red_green_green_blue():
    image = np.zeros((4, 4, 3))
    image[:, :, 0], image[:, :, 1], image[:, :, 2] = 0.1, 0.5, 0.9
    raw = bayer_mosaic(image)
    assert raw.shape == (4, 4)
    assert np.allclose(raw[0::2, 0::2], 0.1) and np.allclose(raw[1::2, 1::2], 0.9)
    assert np.allclose(raw[0::2, 1::2], 0.5) and np.allclose(raw[1::2, 0::2], 0.5)


def test_demosaic_restores_a_smooth_colour_image():
    rows, cols = np.mgrid[0:64, 0:64] / 63.0
    image = np.stack([0.2 + 0.6 * rows, 0.5 + 0.3 * cols, 0.9 - 0.7 * rows * cols], axis=-1)
    restored = demosaic(bayer_mosaic(image))
    assert restored.shape == image.shape
    assert np.abs(restored - image)[2:-2, 2:-2].max() < 0.01    # bilinear is exact up to curvature and 16 bit
    red = demosaic(bayer_mosaic(np.dstack([np.full((8, 8), 0.8), np.zeros((8, 8)), np.zeros((8, 8))])))
    assert np.allclose(red[:, :, 0], 0.8, atol=1e-4) and np.abs(red[:, :, 1:]).max() < 1e-4


def test_cfa_noise_is_shared_by_neighbours_at_the_same_brightness():
    grey = np.full((256, 256, 3), 110, np.uint8)
    per_pixel = darken_like_darkface(grey, 0.03, np.random.default_rng(1))
    through_cfa = darken_like_darkface(grey, 0.03, np.random.default_rng(1), cfa=True)
    assert abs(_lag1_luma_correlation(per_pixel)) < 0.05
    assert _lag1_luma_correlation(through_cfa) > 0.3              # real DARK FACE frames: clearly positive
    assert abs(through_cfa.mean() - per_pixel.mean()) < 0.5      # same exposure, same brightness
    assert night_camera(grey, 0.03, cfa=True).cfa and not night_camera(grey, 0.03).cfa


@pytest.mark.parametrize("cfa", [False, True])
def test_cfa_noise_option_reaches_mlsm_synthetic_pairs(cfa):
    config = DataConfig(crop=64, max_side=0, scale_range=(1.0, 1.0), qfs=(100,), brightness_range=(0.03, 0.03),
                        test_count=0, val_count=0, cfa_noise=cfa)
    data = TrainingData(config, synthetic=[np.full((128, 128, 3), 110, np.uint8)])
    dark, target = data._synthetic_pair(np.random.default_rng(7))
    assert (target == 110).all()
    assert (_lag1_luma_correlation(dark) > 0.3) == cfa
    assert data.describe()["cfa_noise"] is cfa
