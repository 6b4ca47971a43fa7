"""Latent space mapping networks M_0..M_{k-1} (paper Fig. 6, Eq. 14-16).

For level i with compressed-dark latent l_c^i [B, C, h_i, w_i] and the top latent l_c^{k-1}:
    top = up(l_c^{k-1}) to (h_i, w_i)
    enlighten = ResBlock(ASPP(ResBlock(ResBlock(conv(l_c^i)))))           rates 1, 6, 12, 18
    deblock   = UNet(conv(l_c^i - top))                                     exactly zero input at i = k-1
    l~_n^i = out(ResBlock x n(SpatialAtt(ChannelAtt(ResBlock(enlighten + deblock)))))
h_i and w_i must be multiples of 4 (the UNet's two stride-2 downs).
With `map_levels` = m < k only the top m levels have an M_i; the others come out as zeros, which
`MultiLevelVAE.decode` does not read (a model with m mapped levels decodes from its top m levels only).
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from facebench.mlsm.blocks import ASPP, ChannelAttention, ResBlock, SpatialAttention, UNet2
from facebench.mlsm.config import ModelConfig


class LatentMapping(nn.Module):
    """One M_i: (l_c^i, up(l_c^{k-1})) -> predicted normal-light latent l~_n^i, all [B, C, h_i, w_i]."""

    def __init__(self, cfg: ModelConfig, level: int):
        super().__init__()
        c, m = cfg.latent_channels, cfg.mapping_width
        self.enlighten = nn.Sequential(
            nn.Conv2d(c, m, 3, padding=1), ResBlock(m, cfg.norm), ResBlock(m, cfg.norm), ASPP(m, (1, 6, 12, 18)),
            ResBlock(m, cfg.norm))
        self.deblock = nn.Sequential(nn.Conv2d(c, m, 3, padding=1), UNet2(m))
        self.fuse = ResBlock(m, cfg.norm)
        window = cfg.attention_window // 2 ** (cfg.stem_downsample + level)  # in latent pixels of this level
        self.attention = nn.Sequential(ChannelAttention(m, window=window), SpatialAttention())
        self.tail = nn.Sequential(*[ResBlock(m, cfg.norm) for _ in range(cfg.mapping_resblocks)],
                                  nn.Conv2d(m, c, 3, padding=1))

    def deblock_input(self, latent: torch.Tensor, top_up: torch.Tensor) -> torch.Tensor:
        """The block-aware residual l_c^i - up(l_c^{k-1}) (Eq. 15)."""
        return latent - top_up

    def forward(self, latent: torch.Tensor, top_up: torch.Tensor) -> torch.Tensor:
        fused = self.fuse(self.enlighten(latent) + self.deblock(self.deblock_input(latent, top_up)))
        return self.tail(self.attention(fused))


class MultiLevelMapping(nn.Module):
    """{M_i}: list of dark latents (level 0 first) -> list of mapped latents, same shapes (Eq. 16).

    `levels[j]` maps latent level `k - m + j` (m = mapped levels); lower levels come out as zeros.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.first_mapped = cfg.first_mapped_level
        self.levels = nn.ModuleList(LatentMapping(cfg, level) for level in range(self.first_mapped, cfg.levels))

    def forward(self, latents: List[torch.Tensor]) -> List[torch.Tensor]:
        top = latents[-1]
        out = [torch.zeros_like(latent) for latent in latents[:self.first_mapped]]
        for mapping, latent in zip(self.levels, latents[self.first_mapped:]):
            # At the top level the "upsampled" top latent is the latent itself, so the residual is 0.
            top_up = top if latent.shape[-2:] == top.shape[-2:] else F.interpolate(
                top, size=latent.shape[-2:], mode="bilinear", align_corners=False)
            out.append(mapping(latent, top_up))
        return out
