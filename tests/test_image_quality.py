"""PSNR / SSIM / PSNR-B against known values, scikit-image, and a PSNR-B case worked out by hand."""
import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from facebench.degrade import jpeg_roundtrip
from facebench.image_quality import (QualityMeter, blocking_effect_factor, psnr, psnr_b, psnr_torch, ssim,
                                     ssim_torch)


def _photo_like(h=48, w=40, seed=0):
    """Smooth random colour image (uint8 RGB) so JPEG produces real blocking."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / 8.0
    base = np.stack([np.sin(xx + c) * np.cos(yy * 0.7 - c) for c in range(3)], axis=-1)
    return np.clip(127 + 90 * base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)


def _to_tensor(a):
    return torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255.0


def test_psnr_known_value():
    a = np.full((8, 8, 3), 100, np.uint8)
    b = a + 5  # MSE 25 -> 10 log10(65025 / 25) = 34.151 dB
    assert psnr(b, a) == pytest.approx(10 * math.log10(255 ** 2 / 25), abs=1e-12)
    assert psnr(b, a) == pytest.approx(34.1514, abs=1e-4)


def test_identical_images():
    a = _photo_like()
    assert psnr(a, a) == math.inf and psnr_b(a, a) == math.inf
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert float(ssim_torch(_to_tensor(a), _to_tensor(a))) == pytest.approx(1.0, abs=1e-6)


def test_ssim_matches_skimage_matlab_settings():
    ref = _photo_like()
    test = jpeg_roundtrip(ref, 30)
    expected = structural_similarity(test, ref, data_range=255, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, channel_axis=-1)
    default = structural_similarity(test, ref, data_range=255, channel_axis=-1)
    assert ssim(test, ref) == pytest.approx(expected, abs=1e-12)
    assert abs(expected - default) > 1e-4  # the settings matter: skimage defaults give another number
    got = ssim_torch(_to_tensor(test), _to_tensor(ref))
    assert got.shape == (1,) and abs(float(got) - expected) < 1e-4


def test_ssim_torch_is_batched_and_differentiable():
    refs = [_photo_like(seed=s) for s in (1, 2)]
    tests = [jpeg_roundtrip(r, 20) for r in refs]
    x = torch.cat([_to_tensor(t) for t in tests]).requires_grad_(True)
    y = torch.cat([_to_tensor(r) for r in refs])
    values = ssim_torch(x, y)
    for v, t, r in zip(values.detach(), tests, refs):
        assert abs(float(v) - ssim(t, r)) < 1e-4
    (1 - values).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_psnr_b_hand_computed():
    # 16x16 gray test image: left 8 columns 100, right 8 columns 110. Only the 16 pairs (7, 8) across the
    # vertical block edge differ (10^2 each): D_B = 16*100 / (N_HB + N_VB) = 1600 / (16 + 16) = 50,
    # D_Bc = 0 over the N_HBc + N_VBc = 224 + 224 other pairs; eta = log2(8) / log2(16) = 3/4 -> BEF 37.5.
    # Reference all 105 -> MSE 25; PSNR-B = 10 log10(255^2 / 62.5) = 30.1720 dB.
    test = np.full((16, 16, 3), 100, np.uint8)
    test[:, 8:] = 110
    ref = np.full_like(test, 105)
    assert blocking_effect_factor(test[..., 0].astype(float)) == pytest.approx(37.5, abs=1e-12)
    assert psnr_b(test, ref) == pytest.approx(10 * math.log10(65025 / 62.5), abs=1e-9)
    assert psnr_b(test, ref) == pytest.approx(30.1720, abs=1e-4)
    # BEF is taken on the test image only: swapping roles removes it (a flat test image has no blocking)
    assert psnr_b(ref, test) == pytest.approx(psnr(ref, test), abs=1e-12)


def test_psnr_b_no_penalty_when_edges_are_smooth():
    # a horizontal ramp: every adjacent difference is 1, so D_B = D_Bc and BEF = 0 -> PSNR-B = PSNR
    ramp = np.tile(np.arange(16, dtype=np.uint8)[None, :, None] * 1 + 50, (16, 1, 3))
    ref = ramp + 3
    assert blocking_effect_factor(ramp[..., 0].astype(float)) == 0.0
    assert psnr_b(ramp, ref) == pytest.approx(psnr(ramp, ref), abs=1e-12)


def test_psnr_b_penalises_jpeg_blocking():
    ref = _photo_like(64, 64)
    test = jpeg_roundtrip(ref, 10)
    assert psnr_b(test, ref) < psnr(test, ref)


def test_torch_psnr_and_meter():
    ref = _photo_like()
    test = jpeg_roundtrip(ref, 50)
    assert float(psnr_torch(_to_tensor(test), _to_tensor(ref))) == pytest.approx(psnr(test, ref), abs=1e-4)
    meter = QualityMeter()
    meter.process(test, ref)
    meter.process(ref, ref)
    out = meter.evaluate()
    assert out["count"] == 2 and out["psnr"] == math.inf
    assert out["ssim"] == pytest.approx((ssim(test, ref) + 1) / 2, abs=1e-12)


def test_bad_input_is_one_clear_error():
    with pytest.raises(ValueError, match="uint8 RGB"):
        psnr(np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        psnr(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))
