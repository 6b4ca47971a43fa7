"""MSRCR: brightening and a slow per-pixel reference on a tiny image (size/range contract: test_all_plugins.py)."""
import math

import cv2
import numpy as np
import pytest
import torch

from facebench.enhancers.msrcr import MSRCR, MSRCRConfig, msrcr_log, simplest_color_balance


def _reflect101(i: int, n: int) -> int:
    """OpenCV BORDER_REFLECT_101 index (gfedcb|abcdefgh|gfedcba), repeated for any offset."""
    if n == 1:
        return 0
    period = 2 * (n - 1)
    i %= period
    return period - i if i >= n else i


def _folded_gaussian(n: int, sigma: float) -> np.ndarray:
    """[n, n] weights: row x = the 8σ+1-tap Gaussian centred at x, border taps folded back (reflect-101)."""
    radius = (int(round(8 * sigma + 1)) | 1) // 2
    taps = [math.exp(-u * u / (2 * sigma * sigma)) for u in range(-radius, radius + 1)]
    total = sum(taps)
    out = np.zeros((n, n))
    for x in range(n):
        for u, tap in zip(range(-radius, radius + 1), taps):
            out[x, _reflect101(x + u, n)] += tap / total
    return out


def _quantile(values: list, q: float) -> float:
    values = sorted(values)
    pos = q * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (pos - lo) * (values[hi] - values[lo])


def _reference(image: np.ndarray, cfg: MSRCRConfig):
    """Per-pixel MSRCR on image (float [H, W, 3], 0..255) -> (C·MSR, balanced output), float64."""
    h, w, _ = image.shape
    folds = [(_folded_gaussian(h, s), _folded_gaussian(w, s)) for s in cfg.scales]
    log_out = np.zeros((h, w, 3))
    for y in range(h):
        for x in range(w):
            total = sum(image[y, x, c] for c in range(3))
            for c in range(3):
                msr = 0.0
                for fold_y, fold_x in folds:
                    surround = sum(fold_y[y, i] * fold_x[x, j] * image[i, j, c] for i in range(h) for j in range(w))
                    msr += (math.log(image[y, x, c] + 1) - math.log(surround + 1)) / len(folds)
                colour = cfg.beta * (math.log(cfg.alpha * image[y, x, c] + 1) - math.log(total + 1))
                log_out[y, x, c] = colour * msr
    balanced = np.zeros_like(log_out)
    for c in range(3):
        values = list(log_out[..., c].ravel())
        lo, hi = _quantile(values, cfg.clip_low), _quantile(values, 1 - cfg.clip_high)
        for y in range(h):
            for x in range(w):
                balanced[y, x, c] = min(1.0, max(0.0, (log_out[y, x, c] - lo) / (hi - lo)))
    return log_out, balanced


def test_matches_a_slow_per_pixel_reference_on_a_tiny_image():
    cfg = MSRCRConfig()
    image = np.random.default_rng(0).uniform(0, 60, size=(5, 4, 3))
    ref_log, ref_out = _reference(image, cfg)
    np.testing.assert_allclose(msrcr_log(image, cfg), ref_log, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(simplest_color_balance(ref_log, cfg.clip_low, cfg.clip_high), ref_out, atol=1e-6)
    x = torch.from_numpy(image / 255.0).permute(2, 0, 1)[None].float()
    out = MSRCR()(x)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, ref_out, atol=2e-4)


def test_brightens_a_synthetic_dark_image():
    yy, xx = np.mgrid[0:40, 0:48] / 48.0
    scene = 0.3 + 0.5 * xx[..., None] * np.array([1.0, 0.8, 0.6]) + 0.1 * (yy[..., None] > 0.5)
    dark = torch.from_numpy(0.06 * scene).permute(2, 0, 1)[None].float()
    out = MSRCR()(dark)
    assert float(out.mean()) > 3 * float(dark.mean())


def test_brightens_a_real_dark_image(shared):
    bgr = cv2.imread(str(shared / "data" / "dark_real" / "LIME" / "2.bmp"))
    rgb = cv2.resize(bgr, (140, 105), interpolation=cv2.INTER_AREA)[..., ::-1] / 255.0
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float()
    assert float(MSRCR()(x).mean()) > 1.5 * float(x.mean())


def test_flat_channel_maps_to_half_and_bad_input_raises():
    assert torch.allclose(MSRCR()(torch.full((1, 3, 6, 6), 0.2)), torch.full((1, 3, 6, 6), 0.5))
    with pytest.raises(ValueError, match=r"msrcr: expected images of shape \[B, 3, H, W\]"):
        MSRCR()(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="clip_low"):
        MSRCR(clip_low=0.6)
