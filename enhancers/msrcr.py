"""`msrcr`: multi-scale Retinex with colour restoration (Jobson, Rahman, Woodell, IEEE TIP 1997).

Per image, on I (float [H, W, 3], RGB on the 8-bit scale 0..255), channel c, log domain with +1 offsets:
    MSR_c   = Σ_n w_n [log(I_c + 1) − log(G_{σ_n} * I_c + 1)],   σ_n = 15, 80, 250 px, w_n = 1/3
    C_c     = β [log(α I_c + 1) − log(Σ_c' I_c' + 1)],            α = 125, β = 46 (colour restoration)
    MSRCR_c = C_c · MSR_c
G_σ * is a normalised Gaussian blur (OpenCV `GaussianBlur`, kernel 8σ+1 taps, reflect-101 border).

Output mapping: the paper's fixed gain/offset (G = 192, b = −30) is not used. Those constants were
tuned to the original implementation's log base and value ranges; with natural logs on 8-bit data
C·MSR spans a few hundred units, so G(C·MSR + b) saturates most pixels. Instead, as in practice
(Petro, Sbert, Morel, "Multiscale Retinex", IPOL 2014; GIMP's Retinex filter), each channel is
mapped to [0, 1] by the simplest colour balance: clip `clip_low` / `clip_high` of its pixels at
each end (quantiles) and stretch linearly. A channel with no spread maps to 0.5.

Speed: 2.2 s per 1080x720 image on this 2-core CPU (benchmarks/bench_enhancers_classic.py), most
of it the σ = 250 blur (2001-tap separable kernel).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np
import torch

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.plugin_api import Enhancer


@dataclass(frozen=True)
class MSRCRConfig:
    """MSRCR settings (part of the plugin's identity)."""

    scales: Tuple[float, ...] = (15.0, 80.0, 250.0)  # Gaussian surround std in pixels (Jobson 1997)
    alpha: float = 125.0  # colour restoration, inside the log (Jobson 1997)
    beta: float = 46.0  # colour restoration gain (Jobson 1997)
    clip_low: float = 0.01  # fraction of each channel clipped to 0 by the colour balance
    clip_high: float = 0.01  # fraction of each channel clipped to 1 by the colour balance


def msrcr_log(image: np.ndarray, config: MSRCRConfig) -> np.ndarray:
    """image (float [H, W, 3], RGB 0..255) -> C·MSR (float32 [H, W, 3], unbounded, before the balance)."""
    image = image.astype(np.float32)
    log_image = np.log1p(image)
    msr = np.zeros_like(image)
    for sigma in config.scales:
        msr += log_image - np.log1p(cv2.GaussianBlur(image, (0, 0), sigma))
    msr /= len(config.scales)
    colour = config.beta * (np.log1p(config.alpha * image) - np.log1p(image.sum(axis=2, keepdims=True)))
    return colour * msr


def simplest_color_balance(image: np.ndarray, clip_low: float, clip_high: float) -> np.ndarray:
    """image (float [H, W, C]) -> float32 [H, W, C] in [0, 1]: per-channel quantile clip and linear stretch."""
    flat = image.reshape(-1, image.shape[2])
    low = np.quantile(flat, clip_low, axis=0)
    high = np.quantile(flat, 1.0 - clip_high, axis=0)
    spread = high - low
    stretched = (image - low) / np.where(spread > 0, spread, 1.0)
    return np.where(spread > 0, np.clip(stretched, 0.0, 1.0), 0.5).astype(np.float32)


class MSRCR(Enhancer):
    """`msrcr`: multi-scale Retinex (scales 15/80/250) with colour restoration, then colour balance."""

    name = "msrcr"
    meta = BUILTIN_ENHANCERS["msrcr"].meta

    def __init__(self, scales: Tuple[float, ...] = (15.0, 80.0, 250.0), alpha: float = 125.0,
                 beta: float = 46.0, clip_low: float = 0.01, clip_high: float = 0.01):
        super().__init__()
        scales = tuple(float(s) for s in scales)
        if not scales or min(scales) <= 0 or alpha <= 0:
            raise ValueError(f"msrcr: scales and alpha must be > 0, got scales={scales}, alpha={alpha}")
        if not (0 <= clip_low < 0.5 and 0 <= clip_high < 0.5):
            raise ValueError(f"msrcr: clip_low and clip_high must be in [0, 0.5), got {clip_low}, {clip_high}")
        self.config = MSRCRConfig(scales, float(alpha), float(beta), float(clip_low), float(clip_high))

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        """images (Tensor[B, 3, H, W], float RGB in [0, 1], any device) -> Tensor[B, 3, H, W] in [0, 1]."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"msrcr: expected images of shape [B, 3, H, W], got {tuple(images.shape)}")
        arrays = (images.detach().clamp(0, 1) * 255.0).permute(0, 2, 3, 1).cpu().float().numpy()
        cfg = self.config
        out = np.stack([simplest_color_balance(msrcr_log(a, cfg), cfg.clip_low, cfg.clip_high) for a in arrays])
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(images.device, torch.float32)
