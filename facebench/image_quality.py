"""Full-reference image-quality metrics of the MLSM paper: PSNR, SSIM, PSNR-B (../shared/specs/metrics.md).

Reference functions (`psnr`, `ssim`, `psnr_b`) take uint8 RGB arrays [H, W, 3] (values 0..255, MAX = 255)
and return Python floats in dB (PSNR, PSNR-B) or unitless (SSIM, at most 1). `ssim_torch` is the
differentiable version for training losses and validation: float tensors [B, 3, H, W] in [0, 1].

Colour spaces:
    PSNR: mean squared error over all RGB values.
    SSIM: per RGB channel, then the mean of the three (Wang et al.'s Gaussian-window settings, as MATLAB
        `ssim_index.m`: 11x11 window, sigma 1.5, K1 0.01, K2 0.03, population covariance).
    PSNR-B: MSE over RGB (as PSNR) plus the blocking effect factor (BEF) of the *test* image's luma,
        Y = 0.299 R + 0.587 G + 0.114 B (full-range BT.601, the YCbCr JPEG itself encodes), on 0..255.
"""
from __future__ import annotations

import math
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

MAX_VALUE = 255.0
BLOCK = 8  # JPEG block size B of PSNR-B
SSIM_SIGMA = 1.5
SSIM_WINDOW = 11  # skimage: 2 * int(3.5 * sigma + 0.5) + 1 with its default truncate 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
_LUMA = np.array([0.299, 0.587, 0.114])


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    for name, x in (("first", a), ("second", b)):
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"{name} image: expected uint8 RGB [H, W, 3], got {x.dtype} {tuple(x.shape)}")
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape} (expected the same H, W)")


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def _db(mse: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(MAX_VALUE ** 2 / mse)


def psnr(test: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB over RGB: 10 log10(255^2 / MSE); inf for identical images.

    Args:
        test, reference (ndarray[H, W, 3], uint8): RGB images.
    """
    _check_pair(test, reference)
    return _db(_mse(test, reference))


def ssim(test: np.ndarray, reference: np.ndarray) -> float:
    """Mean SSIM over the three RGB channels with the MATLAB `ssim_index.m` settings (metrics.md).

    Args:
        test, reference (ndarray[H, W, 3], uint8): RGB images, at least 11 x 11 pixels.
    """
    _check_pair(test, reference)
    if min(test.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {test.shape[:2]}")
    return float(structural_similarity(test, reference, data_range=MAX_VALUE, gaussian_weights=True,
                                       sigma=SSIM_SIGMA, use_sample_covariance=False, channel_axis=-1))


def luma(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB [H, W, 3] -> float64 Y [H, W] on 0..255 (full-range BT.601, unrounded)."""
    return rgb.astype(np.float64) @ _LUMA


def blocking_effect_factor(gray: np.ndarray, block: int = BLOCK) -> float:
    """BEF of Yim & Bovik (2011) for one channel.

    Pairs of horizontally (vertically) adjacent pixels that straddle a block boundary: columns
    (kB - 1, kB) for k = 1 .. ceil(W / B) - 1, i.e. N_HB = H (W/B - 1) when B divides W (N_VB likewise);
    every other adjacent pair is a non-boundary pair.

    Args:
        gray (ndarray[H, W], float): one channel, 0..255.
    Returns:
        eta (D_B - D_Bc) when D_B > D_Bc else 0, with eta = log2(B) / log2(min(H, W)).
    """
    gray = np.asarray(gray, dtype=np.float64)
    h, w = gray.shape
    dx2 = (gray[:, :-1] - gray[:, 1:]) ** 2  # [H, W-1]: pair (j, j+1) in column j
    dy2 = (gray[:-1, :] - gray[1:, :]) ** 2  # [H-1, W]
    col_boundary = (np.arange(w - 1) % block) == block - 1
    row_boundary = (np.arange(h - 1) % block) == block - 1
    n_b = h * col_boundary.sum() + w * row_boundary.sum()
    n_bc = h * (w - 1) + w * (h - 1) - n_b
    if n_b == 0 or n_bc == 0:
        return 0.0
    d_b = (dx2[:, col_boundary].sum() + dy2[row_boundary, :].sum()) / n_b
    d_bc = (dx2[:, ~col_boundary].sum() + dy2[~row_boundary, :].sum()) / n_bc
    if d_b <= d_bc:
        return 0.0
    return float(math.log2(block) / math.log2(min(h, w)) * (d_b - d_bc))


def psnr_b(test: np.ndarray, reference: np.ndarray) -> float:
    """PSNR-B in dB: 10 log10(255^2 / (MSE_RGB + BEF(Y of `test`))); BEF is taken on the test image only.

    Args:
        test (ndarray[H, W, 3], uint8): the distorted (compressed / enhanced) RGB image.
        reference (ndarray[H, W, 3], uint8): the clean RGB image.
    """
    _check_pair(test, reference)
    return _db(_mse(test, reference) + blocking_effect_factor(luma(test)))


def quality(test: np.ndarray, reference: np.ndarray) -> Dict[str, float]:
    """{"psnr", "ssim", "psnr_b"} of one uint8 RGB [H, W, 3] pair."""
    return {"psnr": psnr(test, reference), "ssim": ssim(test, reference), "psnr_b": psnr_b(test, reference)}


class QualityMeter:
    """Streams pairs and averages PSNR / SSIM / PSNR-B over them (per-image means, like the paper's tables).

    Infinite PSNR (identical images) is kept as inf in the mean, so a lossless row reads "inf".
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._rows = []

    def process(self, test: np.ndarray, reference: np.ndarray) -> Dict[str, float]:
        """Add one uint8 RGB [H, W, 3] pair; returns its metrics."""
        row = quality(test, reference)
        self._rows.append(row)
        return row

    def evaluate(self) -> Dict[str, float]:
        """{"psnr", "ssim", "psnr_b", "count"}; raises when no pair was processed."""
        if not self._rows:
            raise ValueError("QualityMeter.evaluate: no image pairs were processed")
        means = {k: float(np.mean([r[k] for r in self._rows])) for k in ("psnr", "ssim", "psnr_b")}
        means["count"] = len(self._rows)
        return means


def _gaussian_window(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """[3, 1, 11, 11] normalised Gaussian (sigma 1.5), one copy per channel for a grouped conv."""
    x = torch.arange(SSIM_WINDOW, device=device, dtype=torch.float64) - SSIM_WINDOW // 2
    g = torch.exp(-x ** 2 / (2 * SSIM_SIGMA ** 2))
    g = g / g.sum()
    return torch.outer(g, g).to(dtype).expand(3, 1, SSIM_WINDOW, SSIM_WINDOW).contiguous()


def ssim_torch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Differentiable SSIM per image, equal to `ssim` on the 8-bit images within 1e-4.

    The window is applied without padding (the "valid" region), which is exactly the region skimage
    averages over after it crops (window - 1) / 2 pixels at each border.

    Args:
        x, y (Tensor[B, 3, H, W], float in [0, 1]): images, H and W at least 11.
    Returns:
        Tensor[B]: mean SSIM over channels and valid pixels, same dtype as the inputs.
    """
    if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"ssim_torch: expected two [B, 3, H, W] tensors, got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"ssim_torch: images must be at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {tuple(x.shape[-2:])}")
    window = _gaussian_window(x.device, x.dtype)
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2  # data range 1

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=3)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x ** 2
    var_y = blur(y * y) - mu_y ** 2
    cov = blur(x * y) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1)


def psnr_torch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR per image in dB over RGB for tensors in [0, 1] (peak 1): x, y Tensor[B, 3, H, W] -> Tensor[B]."""
    mse = (x - y).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse)
