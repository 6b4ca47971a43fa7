"""JPEG degradation and the physical low-light model."""
import cv2
import numpy as np
import pytest

from facebench.degrade import jpeg_bytes, jpeg_roundtrip, parse_qf, qf_label
from facebench.lowlight import (LowLightModel, check_brightness_range, darken, darken_like_darkface, keep_noise,
                                night_camera, sample_brightness, smooth_chroma)


def _photo():
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, 96 * 128).reshape(96, 128)
    return np.clip(np.stack([base, base[::-1], base.T.reshape(96, 128)], -1) + rng.normal(0, 8, (96, 128, 3)),
                   0, 255).astype(np.uint8)


def test_jpeg_is_byte_identical_across_calls_and_lower_qf_is_smaller():
    img = _photo()
    assert jpeg_bytes(img, 90) == jpeg_bytes(img.copy(), 90)
    assert np.array_equal(jpeg_roundtrip(img, 60), jpeg_roundtrip(img, 60))
    assert len(jpeg_bytes(img, 60)) < len(jpeg_bytes(img, 90))


def test_raw_is_unchanged_and_jpeg_changes_pixels():
    img = _photo()
    assert jpeg_roundtrip(img, None) is img
    out = jpeg_roundtrip(img, 60)
    assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)


def test_parse_qf():
    assert parse_qf("raw") is None and parse_qf("90") == 90 and qf_label(None) == "raw"
    for bad in ("0", "101", "high"):
        with pytest.raises(ValueError, match="expected"):
            parse_qf(bad)


def test_lowlight_model_darkens_by_exposure_in_linear_light():
    img = np.full((64, 64, 3), 200, np.uint8)
    model = LowLightModel(exposure=0.1, read_noise=0.0, full_well=1e7)  # ~noise-free
    dark = darken(img, model, np.random.default_rng(0))
    expected = 255 * ((200 / 255) ** 2.2 * 0.1) ** (1 / 2.2)
    assert abs(dark.mean() - expected) < 0.6


def test_lowlight_noise_is_poisson_gaussian():
    img = np.full((256, 256, 3), 128, np.uint8)
    model = LowLightModel(exposure=0.05, full_well=1000.0, read_noise=2.0)
    rng = np.random.default_rng(1)
    linear = (128 / 255) ** 2.2
    electrons = rng.poisson(linear * 50, size=(10**6,)) + rng.normal(0, 2, size=(10**6,))
    expected_std = np.std(np.round(255 * np.clip(electrons / 1000, 0, 1) ** (1 / 2.2)))
    dark = darken(img, model, np.random.default_rng(2)).astype(float)
    assert abs(dark.std() - expected_std) / expected_std < 0.05


@pytest.mark.parametrize("target", [0.015, 0.03, 0.1])
def test_night_camera_hits_the_target_brightness(target):
    img = _photo()
    dark = darken_like_darkface(img, target, np.random.default_rng(3))
    assert night_camera(img, target).full_well == 12000.0
    assert abs(dark.mean() / 255 - target) < 0.15 * target + 0.002  # noise and rounding move it slightly


def test_smooth_chroma_reduces_colour_noise_and_keeps_luma():
    rng = np.random.default_rng(4)
    noisy = np.clip(128 + rng.normal(0, 10, (64, 64, 3)), 0, 255).astype(np.uint8)
    smoothed = smooth_chroma(noisy)

    def ycc(im):
        return cv2.cvtColor(im, cv2.COLOR_RGB2YCrCb).astype(float)
    assert ycc(smoothed)[..., 1:].std() < 0.6 * ycc(noisy)[..., 1:].std()
    assert np.abs(ycc(smoothed)[..., 0] - ycc(noisy)[..., 0]).mean() < 1.0


def test_brightness_is_drawn_log_uniformly_inside_its_range():
    rng = np.random.default_rng(0)
    draws = np.array([sample_brightness(rng, (0.012, 0.2)) for _ in range(4000)])
    assert draws.min() >= 0.012 and draws.max() <= 0.2
    assert abs(np.median(draws) - np.sqrt(0.012 * 0.2)) < 0.003  # log-uniform: median = geometric mean
    with pytest.raises(ValueError, match=r"brightness_range must be 0 < low <= high <= 1, got \(0.3, 0.1\)"):
        check_brightness_range((0.3, 0.1))


def test_keep_noise_adds_the_night_frames_noise_brightened_back_in_proportion_to_the_share():
    grey = np.full((128, 128, 3), 120, np.uint8)
    dark = darken_like_darkface(grey, 0.03, np.random.default_rng(5))
    model = night_camera(grey, 0.03)
    gain = model.exposure ** (1 / model.gamma)                    # about 0.064: a 16x brightening
    assert np.array_equal(keep_noise(grey, dark, 0.03, 0.0), grey)
    full = keep_noise(grey, dark, 0.03, 1.0).astype(float)
    half = keep_noise(grey, dark, 0.03, 0.5).astype(float)
    assert abs(full.mean() - 120) < 5         # noise (and its bias through the gamma curve), not a brightening
    assert full.std() == pytest.approx(dark.std() / gain, rel=0.05)
    assert (half - 120).std() == pytest.approx(0.5 * (full - 120).std(), rel=0.05)
    assert np.corrcoef((half - 120).ravel(), dark.astype(float).ravel())[0, 1] > 0.99
    with pytest.raises(ValueError, match=r"noise share must be in \[0, 1\], got 1.5"):
        keep_noise(grey, dark, 0.03, 1.5)
