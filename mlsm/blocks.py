"""Convolutional building blocks of MLSM: conv units, ResBlock (Fig. 6b), ASPP, attention, a small UNet.

All blocks map Tensor[B, C, H, W] float32 -> Tensor[B, C', H', W'] and accept any H, W unless noted.

Scale consistency: a block must compute the same thing on a 256 px training crop as on a 1080x720
frame. So normalisation is optional (`norm="none"` by default: InstanceNorm statistics of a crop are
not those of a frame), ASPP pads by replicating the border (zero padding turns every dilated tap that
leaves a small training latent into a constant zero), and channel attention pools the mean only (the
max over a region grows with its size; the mean does not). The mean is over the whole map by default:
a crop-sized sliding window (`window`) is closer to what training saw, but measured it gave worse
images (held-out SICE pairs at 512 px: 16.02 dB / 0.678 SSIM against 17.27 / 0.705 with the global
mean, same weights). Tiled inference therefore shares one image-wide mean between its tiles
(`facebench.mlsm.inference`).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


NORMS = ("none", "instance")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """'instance' -> affine InstanceNorm2d (the paper's choice); 'none' -> identity."""
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")
    return nn.InstanceNorm2d(channels, affine=True) if kind == "instance" else nn.Identity()


def conv_unit(c_in: int, c_out: int, norm: str = "none", stride: int = 1) -> nn.Sequential:
    """3x3 conv + norm (`norm_layer`) + ReLU; stride 2 halves H and W (rounding up)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), norm_layer(norm, c_out),
                         nn.ReLU(inplace=True))


class ResBlock(nn.Module):
    """conv-norm-act-conv + identity (Fig. 6b); channels and size unchanged."""

    def __init__(self, channels: int, norm: str = "none"):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), norm_layer(norm, channels),
            nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (Chen et al.): parallel 3x3 convs at `rates`, concat, 1x1 fuse.

    Branches pad by replicating the border, so a tap outside the map reads the nearest real value.
    """

    def __init__(self, channels: int, rates: Sequence[int] = (1, 6, 12, 18)):
        super().__init__()
        self.rates = tuple(rates)
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=r, dilation=r, padding_mode="replicate"),
                          nn.ReLU(inplace=True))
            for r in rates)
        self.fuse = nn.Conv2d(channels * len(rates), channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([b(x) for b in self.branches], dim=1))


def box_mean(x: torch.Tensor, window: int) -> torch.Tensor:
    """Mean of x [B, C, H, W] over the `window` x `window` box around each pixel, the box clipped at the
    borders (only real pixels count); same shape. Uses running sums, so the cost does not grow with `window`."""
    out = x
    for dim in (2, 3):
        n = out.shape[dim]
        start = torch.arange(n, device=x.device) - window // 2
        lo, hi = start.clamp(0, n), (start + window).clamp(0, n)
        padded = torch.cat([torch.zeros_like(out.narrow(dim, 0, 1)), out.cumsum(dim)], dim)
        total = padded.index_select(dim, hi) - padded.index_select(dim, lo)
        shape = [1, 1, 1, 1]
        shape[dim] = n
        out = total / (hi - lo).to(x.dtype).view(shape)
    return out


class ChannelAttention(nn.Module):
    """Channel attention (CBAM's channel half, mean pooling only): x * sigmoid(MLP(mean x)).

    The mean is over the whole map when it fits in `window` x `window` (0 = always), else over the
    window around each pixel (`box_mean`). `shared_mean` (Tensor[B, C, 1, 1]), when set, replaces the
    map's own mean: tiled inference sets it to the mean over the whole image.
    """

    def __init__(self, channels: int, reduction: int = 4, window: int = 0):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.window = window
        self.shared_mean = None
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shared_mean is not None:
            return x * torch.sigmoid(self.mlp(self.shared_mean))
        if not self.window or max(x.shape[-2:]) <= self.window:
            return x * torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(x, 1)))
        return x * torch.sigmoid(self.mlp(box_mean(x, self.window)))


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
