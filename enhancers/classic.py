"""Classic, weight-free enhancers: identity, gamma curve, histogram equalisation, CLAHE.

HE and CLAHE act on luma only (YCrCb Y for HE, CIELAB L for CLAHE, both via OpenCV on 8-bit data),
so colours keep their hue; that is how both are usually applied as low-light baselines.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.plugin_api import Enhancer


def _per_image_uint8(images: torch.Tensor, fn) -> torch.Tensor:
    """Apply `fn(uint8 RGB [H, W, 3]) -> uint8 RGB` to each image of a [B, 3, H, W] tensor in [0, 1]."""
    arrays = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    out = np.stack([fn(np.ascontiguousarray(a)) for a in arrays])
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(images.device, torch.float32) / 255.0


class Identity(Enhancer):
    """`none`: returns its input unchanged (the baseline every table starts with)."""

    name = "none"
    meta = BUILTIN_ENHANCERS["none"].meta

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        return images


@dataclass(frozen=True)
class GammaConfig:
    gamma: float = 0.4  # output = input ** gamma; < 1 brightens


class Gamma(Enhancer):
    """`gamma`: a global power curve, out = in ** gamma, per channel."""

    name = "gamma"
    meta = BUILTIN_ENHANCERS["gamma"].meta

    def __init__(self, gamma: float = 0.4):
        super().__init__()
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        self.config = GammaConfig(gamma)

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        return images.clamp(0, 1).pow(self.config.gamma)


def _equalize_luma(rgb: np.ndarray) -> np.ndarray:
    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    ycrcb[..., 0] = cv2.equalizeHist(ycrcb[..., 0])
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)


class HistogramEqualization(Enhancer):
    """`he`: global histogram equalisation of the Y channel (OpenCV `equalizeHist`)."""

    name = "he"
    meta = BUILTIN_ENHANCERS["he"].meta

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        return _per_image_uint8(images, _equalize_luma)


@dataclass(frozen=True)
class CLAHEConfig:
    clip_limit: float = 2.0
    tile_grid: int = 8  # tiles per side


class CLAHE(Enhancer):
    """`clahe`: contrast-limited adaptive HE (Zuiderveld 1994) of CIELAB L, OpenCV defaults 2.0 / 8x8."""

    name = "clahe"
    meta = BUILTIN_ENHANCERS["clahe"].meta

    def __init__(self, clip_limit: float = 2.0, tile_grid: int = 8):
        super().__init__()
        self.config = CLAHEConfig(clip_limit, tile_grid)
        self._clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tile_grid, tile_grid))

    def _apply(self, rgb: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
        lab[..., 0] = self._clahe.apply(lab[..., 0])
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        return _per_image_uint8(images, self._apply)
