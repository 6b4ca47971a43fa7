"""Convolutional building blocks of MLSM: conv units, ResBlock (Fig. 6b), ASPP, attention, a small UNet.

All blocks map Tensor[B, C, H, W] float32 -> Tensor[B, C', H', W'] and accept any H, W unless noted.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_unit(c_in: int, c_out: int, norm: bool = True, stride: int = 1) -> nn.Sequential:
    """3x3 conv (+ InstanceNorm) + ReLU; stride 2 halves H and W (rounding up)."""
    layers = [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)]
    if norm:
        layers.append(nn.InstanceNorm2d(c_out, affine=True))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    """conv-norm-act-conv + identity (Fig. 6b); channels and size unchanged."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (Chen et al.): parallel 3x3 convs at `rates`, concat, 1x1 fuse."""

    def __init__(self, channels: int, rates: Sequence[int] = (1, 6, 12, 18)):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=r, dilation=r), nn.ReLU(inplace=True))
            for r in rates)
        self.fuse = nn.Conv2d(channels * len(rates), channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([b(x) for b in self.branches], dim=1))


class ChannelAttention(nn.Module):
    """CBAM channel attention: x * sigmoid(MLP(avgpool x) + MLP(maxpool x))."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(F.adaptive_avg_pool2d(x, 1))
        mx = self.mlp(F.adaptive_max_pool2d(x, 1))
        return x * torch.sigmoid(avg + mx)


class SpatialAttention(nn.Module):
    """CBAM spatial attention: x * sigmoid(conv7x7([mean_c x, max_c x]))."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class UNet2(nn.Module):
    """UNet-style net of the deblocking branch: 2 down blocks (3x3 conv, stride 2, padding 1) and 2 up
    blocks (4x4 transposed conv, stride 2) with additive skips. H and W must be multiples of 4."""

    def __init__(self, channels: int):
        super().__init__()
        self.down1 = nn.Sequential(nn.Conv2d(channels, channels, 3, 2, 1), nn.ReLU(inplace=True))
        self.down2 = nn.Sequential(nn.Conv2d(channels, channels, 3, 2, 1), nn.ReLU(inplace=True))
        self.up2 = nn.Sequential(nn.ConvTranspose2d(channels, channels, 4, 2, 1), nn.ReLU(inplace=True))
        self.up1 = nn.ConvTranspose2d(channels, channels, 4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(d1)
        u2 = self.up2(d2) + d1
        return self.up1(u2) + x
