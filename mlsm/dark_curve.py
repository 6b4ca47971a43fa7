"""The tone curve VAE_C sees its dark input through (an option beyond the paper; eps 0 = linear, the paper).

curve(x) = log(1 + x / eps) / log(1 + 1 / eps) maps [0, 1] onto [0, 1] and lifts dark values: with
eps = 0.01 a DARK FACE frame's mean of 0.04 becomes 0.35, and a step of one grey level there is 4.3x
larger than on the linear scale (20x at black). On linear inputs of that darkness VAE_C's reconstruction
loss barely sees the scene's detail: the shipped model's D_C(E_C(x)) keeps 35-52% of the input's Laplacian
energy (mlsm/MODEL_CARD.md, "Phase 7"). The curve is pointwise, so tiled inference is unaffected.
"""
from __future__ import annotations

import math

import torch


def dark_curve(x: torch.Tensor, eps: float) -> torch.Tensor:
    """x Tensor[...] in [0, 1] -> log(1 + x / eps) / log(1 + 1 / eps), same shape, in [0, 1]; eps 0 returns x."""
    if eps == 0:
        return x
    return torch.log1p(x / eps) / math.log1p(1 / eps)


def inverse_dark_curve(y: torch.Tensor, eps: float) -> torch.Tensor:
    """The inverse of `dark_curve`: y in [0, 1] -> eps * ((1 + 1 / eps) ** y - 1); eps 0 returns y."""
    if eps == 0:
        return y
    return eps * torch.expm1(y * math.log1p(1 / eps))
