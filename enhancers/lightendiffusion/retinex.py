"""Retinex decomposition of a latent feature (LightenDiffusion's `Retinex_decom`, the core of the CTDN).

From the initial estimate (L0 = max over channels, R0 = F / L0) two conv branches give reflectance
features Rf and illumination features Lf. A cross attention (query from Lf, key/value from Rf) moves
content into the reflectance branch; a transposed self attention S on Lf is added to the reflectance
branch and removed from the illumination branch. Parameter names match the `decom.retinex.*` keys.

Dimensions (C = `channels`, 64 in the authors' model; h, w = latent height and width, H/8 and W/8):
    feature F        [B, 3, h, w] in (0, 1)
    reflectance R    [B, 3, h, w] in (0, 1)
    illumination L   [B, 3, h, w] in (0, 1) (one map repeated over the 3 channels)
"""
from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from facebench.enhancers.lightendiffusion.reconnet import ResBlock


class _SeparableConv(nn.Module):
    """Depthwise conv3 (one group per channel) then a 1x1 conv, both with bias."""

    def __init__(self, c: int):
        super().__init__()
        self.depth_conv = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.point_conv = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.depth_conv(x))


class RowCrossAttention(nn.Module):
    """Per image row, a (C x C) channel attention: scores = Q K^T over the width axis / sqrt(C / heads).

    The heads only set the scale (the authors' module computes a single attention over all channels).
    """

    def __init__(self, c: int, heads: int):
        super().__init__()
        self.query, self.key, self.value = _SeparableConv(c), _SeparableConv(c), _SeparableConv(c)
        self.scale = math.sqrt(c // heads)

    def forward(self, query_source: torch.Tensor, key_source: torch.Tensor) -> torch.Tensor:
        """query_source, key_source [B, C, h, w] -> [B, C, h, w] (values of key_source, mixed per row)."""
        q = self.query(query_source).permute(0, 2, 1, 3)  # [B, h, C, w]
        k = self.key(key_source).permute(0, 2, 1, 3)
        v = self.value(key_source).permute(0, 2, 1, 3)
        attention = torch.softmax(q @ k.transpose(-1, -2) / self.scale, dim=-1)  # [B, h, C, C]
        return (attention @ v).permute(0, 2, 1, 3)


class TransposedSelfAttention(nn.Module):
    """Restormer-style attention across channels: per head an (c x c) map from L2-normalised q, k over h*w
    (no temperature), applied to v; 1x1 `project_out`."""

    def __init__(self, c: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.qkv_dwconv = nn.Conv2d(3 * c, 3 * c, 3, padding=1, groups=3 * c)
        self.project_out = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, h, w] -> [B, C, h, w]."""
        b, c, h, w = x.shape
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        q, k, v = (t.reshape(b, self.heads, c // self.heads, h * w) for t in (q, k, v))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        out = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
        return self.project_out(out.reshape(b, c, h, w))


class RetinexDecomposition(nn.Module):
    """Latent feature F -> (reflectance R, illumination L) with R * L ~ F after training.

    Args:
        channels: width C of both branches (64 in the authors' model).
        heads: attention heads (8 in the authors' model); must divide `channels`.
    """

    def __init__(self, channels: int = 64, heads: int = 8):
        super().__init__()
        c = channels
        self.conv0, self.blocks0 = nn.Conv2d(3, c, 3, padding=1), nn.Sequential(ResBlock(c, c), ResBlock(c, c))
        self.conv1, self.blocks1 = nn.Conv2d(1, c, 3, padding=1), nn.Sequential(ResBlock(c, c), ResBlock(c, c))
        self.cross_attention = RowCrossAttention(c, heads)
        self.self_attention = TransposedSelfAttention(c, heads)
        self.conv0_1 = nn.Sequential(ResBlock(c, c), nn.Conv2d(c, 3, 3, padding=1))
        self.conv1_1 = nn.Sequential(ResBlock(c, c), nn.Conv2d(c, 1, 3, padding=1))

    def forward(self, feature: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """feature F [B, 3, h, w] in (0, 1) -> (R [B, 3, h, w] in (0, 1), L [B, 3, h, w] in (0, 1))."""
        l0 = feature.amax(dim=1, keepdim=True)
        r0 = feature / l0
        rf = self.blocks0(self.conv0(r0))
        lf = self.blocks1(self.conv1(l0))
        s = self.self_attention(lf)
        reflectance = torch.sigmoid(self.conv0_1(self.cross_attention(lf, rf) + s))
        illumination = torch.sigmoid(self.conv1_1(lf - s))
        return reflectance, illumination.repeat(1, 3, 1, 1)
