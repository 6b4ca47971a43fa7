"""CTDN, the content-transfer decomposition network: ReconNet (encoder/decoder) + latent Retinex decomposition.

Parameter names match the `decom.*` keys of the authors' stage-2 checkpoint (`ReconNet.*`, `retinex.*`),
and exactly the keys of their stage-1 checkpoint (`torch.load(...)["model"]`).

Dimensions: images [B, 3, H, W] float RGB in [0, 1], H and W multiples of 8; latent maps [B, 3, H/8, W/8].
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import nn

from facebench.enhancers.lightendiffusion.reconnet import ReconNet, Skips
from facebench.enhancers.lightendiffusion.retinex import RetinexDecomposition


class CTDN(nn.Module):
    """Args: recon_channels (ReconNet width C), retinex_channels and heads (RetinexDecomposition)."""

    def __init__(self, recon_channels: int = 64, retinex_channels: int = 64, heads: int = 8):
        super().__init__()
        self.ReconNet = ReconNet(recon_channels)
        self.retinex = RetinexDecomposition(retinex_channels, heads)

    def encode(self, images: torch.Tensor) -> Tuple[torch.Tensor, Skips]:
        """images [B, 3, H, W] in [0, 1] -> (latent feature [B, 3, H/8, W/8] in (0, 1), encoder skips)."""
        return self.ReconNet.encode(images)

    def decode(self, feature: torch.Tensor, skips: Skips) -> torch.Tensor:
        """latent feature [B, 3, H/8, W/8] + skips of an image -> image [B, 3, H, W] (not clamped)."""
        return self.ReconNet.decode(feature, skips)

    def decompose(self, low: torch.Tensor, high: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Latent features and their Retinex decomposition for a low-light and a normal-light batch.

        Args:
            low, high: images [B, 3, H, W] in [0, 1] (unpaired; at test time `high` is `low`).

        Returns:
            low_fea, high_fea (features), low_R, high_R (reflectance), low_L, high_L (illumination, one map
            repeated on 3 channels): each [B, 3, H/8, W/8] in (0, 1).
        """
        out = {}
        for name, images in (("low", low), ("high", high)):
            feature, _ = self.encode(images)
            out[f"{name}_fea"] = feature
            out[f"{name}_R"], out[f"{name}_L"] = self.retinex(feature)
        return out
