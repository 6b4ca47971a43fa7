"""Zero-DCE's zero-reference losses (no target image), as in the authors' training code (`Myloss.py`).

Total = 200 * L_TV(A) + 1 * L_spa + 5 * L_col + 10 * L_exp, with exposure level E = 0.6 over 16x16
patches and spatial consistency on 4x4 average-pooled regions (the authors' code; the paper's weights
differ and the authors say to follow the code).

Tensors: enhanced and original images [B, 3, H, W] float in [0, 1]; curve maps A [B, C, H, W] in [-1, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import torch
import torch.nn.functional as F

# Neighbour differences (centre minus left / right / up / down neighbour), zero beyond the border.
_DIRECTIONS = torch.tensor([
    [[0, 0, 0], [-1, 1, 0], [0, 0, 0]],
    [[0, 0, 0], [0, 1, -1], [0, 0, 0]],
    [[0, -1, 0], [0, 1, 0], [0, 0, 0]],
    [[0, 0, 0], [0, 1, 0], [0, -1, 0]],
], dtype=torch.float32).unsqueeze(1)  # [4, 1, 3, 3]


@dataclass(frozen=True)
class ZeroReferenceWeights:
    """Loss weights and settings of the authors' code."""

    tv: float = 200.0
    spa: float = 1.0
    col: float = 5.0
    exp: float = 10.0
    exposure_level: float = 0.6  # E, the target mean brightness of a patch
    exposure_patch: int = 16  # pixels per side of the exposure patches
    spa_pool: int = 4  # pixels per side of the spatial-consistency regions


def spatial_consistency_loss(enhanced: torch.Tensor, original: torch.Tensor, pool: int = 4) -> torch.Tensor:
    """L_spa: keep the differences between each region and its 4 neighbours (grey, pool x pool means).

    Returns a scalar: the mean over regions of the sum over the 4 directions of the squared change.
    """
    diff = F.avg_pool2d(original.mean(1, keepdim=True) - enhanced.mean(1, keepdim=True), pool)
    d = F.conv2d(diff, _DIRECTIONS.to(diff), padding=1)  # linear, so D(org) - D(enh) = D(org - enh)
    return d.pow(2).sum(1).mean()


def exposure_loss(enhanced: torch.Tensor, level: float = 0.6, patch: int = 16) -> torch.Tensor:
    """L_exp: mean squared distance of the grey patch means (patch x patch) from `level`. Scalar."""
    return (F.avg_pool2d(enhanced.mean(1, keepdim=True), patch) - level).pow(2).mean()


def color_constancy_loss(enhanced: torch.Tensor) -> torch.Tensor:
    """L_col (grey-world): sqrt of the summed squares of the squared channel-mean differences, batch mean.

    A 1e-12 inside the square root keeps the gradient finite for an exactly grey image (the authors'
    code gives NaN there); it changes the value by at most 1e-6.
    """
    r, g, b = enhanced.mean((2, 3)).unbind(1)
    d_rg, d_rb, d_gb = (r - g).pow(2), (r - b).pow(2), (b - g).pow(2)
    return torch.sqrt(d_rg.pow(2) + d_rb.pow(2) + d_gb.pow(2) + 1e-12).mean()


def illumination_smoothness_loss(curves: torch.Tensor) -> torch.Tensor:
    """L_TV(A): the authors' total variation of the curve maps, 2 * (mean dy^2 + mean dx^2) / B
    where each mean is over one batch element's positions and summed over batch and channels."""
    batch, _, height, width = curves.shape
    dy = (curves[:, :, 1:, :] - curves[:, :, :-1, :]).pow(2).sum() / max(1, (height - 1) * width)
    dx = (curves[:, :, :, 1:] - curves[:, :, :, :-1]).pow(2).sum() / max(1, height * (width - 1))
    return 2 * (dy + dx) / batch


def zero_reference_losses(enhanced: torch.Tensor, original: torch.Tensor, curves: torch.Tensor,
                          weights: ZeroReferenceWeights = ZeroReferenceWeights()) -> Dict[str, torch.Tensor]:
    """The four weighted loss terms {'tv', 'spa', 'col', 'exp'} (scalars); the training loss is their sum."""
    return {
        "tv": weights.tv * illumination_smoothness_loss(curves),
        "spa": weights.spa * spatial_consistency_loss(enhanced, original, weights.spa_pool),
        "col": weights.col * color_constancy_loss(enhanced),
        "exp": weights.exp * exposure_loss(enhanced, weights.exposure_level, weights.exposure_patch),
    }
