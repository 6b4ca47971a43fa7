"""The denoiser: a DDPM/DDIM-style U-Net conditioned by concatenation (LightenDiffusion's `DiffusionUNet`).

Input is cat(condition, x_t) along channels; output the predicted noise. ResNet blocks with GroupNorm(32,
eps 1e-6) and swish, a timestep embedding added in every block, single-head attention at one level of both
paths and in the middle. Parameter names match the `Unet.*` keys of the authors' checkpoint.

Dimensions (ch = `channels`, 64 in the authors' model; levels = len(channel_mult)):
    x      [B, in_channels, h, w]   h, w multiples of 2 ** (levels - 1)  (latent of an image: h = H/8)
    t      [B] float timesteps in [0, 1000)
    output [B, out_channels, h, w]
"""
from __future__ import annotations

import math
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding: t [B] float -> [B, dim] = [sin(t f_k), cos(t f_k)], f_k = 10000^(-k / (dim/2 - 1))."""
    half = dim // 2
    frequencies = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * -(math.log(10000) / (half - 1)))
    angles = t.float()[:, None] * frequencies[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, c, eps=1e-6, affine=True)


class _TimestepMLP(nn.Module):
    """Linear(ch -> 4ch) -> swish -> Linear(4ch -> 4ch), stored as `dense.0`, `dense.1`."""

    def __init__(self, ch: int, temb: int):
        super().__init__()
        self.dense = nn.ModuleList([nn.Linear(ch, temb), nn.Linear(temb, temb)])

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.dense[1](F.silu(self.dense[0](embedding)))


class ResnetBlock(nn.Module):
    """GN, swish, conv3, + projected timestep embedding, GN, swish, conv3; 1x1 shortcut when cin != cout."""

    def __init__(self, cin: int, cout: int, temb: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.temb_proj = nn.Linear(temb, cout)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))  # dropout 0 in the authors' configuration
        shortcut = x if self.nin_shortcut is None else self.nin_shortcut(x)
        return shortcut + h


class AttnBlock(nn.Module):
    """Single-head spatial self attention: softmax(q^T k / sqrt(c)) over all h*w positions, 1x1 proj, residual."""

    def __init__(self, c: int):
        super().__init__()
        self.norm = _norm(c)
        self.q, self.k, self.v = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.norm(x)
        q = self.q(y).reshape(b, c, h * w).transpose(1, 2)  # [B, hw, c]
        k = self.k(y).reshape(b, c, h * w)  # [B, c, hw]
        v = self.v(y).reshape(b, c, h * w)
        weights = torch.softmax((q @ k) * c ** -0.5, dim=2)  # [B, hw_query, hw_key]
        out = (v @ weights.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    """Zero-pad right and bottom by 1, conv3 stride 2 without padding: halves h and w."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest-neighbour x2, then conv3."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class _Level(nn.Module):
    """One resolution level: `block` (ResnetBlocks), `attn` (AttnBlocks, possibly none), and a resampler."""

    def __init__(self, blocks: List[ResnetBlock], attention: bool, resample: "nn.Module | None", name: str):
        super().__init__()
        self.block = nn.ModuleList(blocks)
        self.attn = nn.ModuleList([AttnBlock(b.conv2.out_channels) for b in blocks] if attention else [])
        if resample is not None:
            setattr(self, name, resample)

    def run(self, index: int, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        """Block `index` (and its attention, if the level has attention) on x."""
        h = self.block[index](x, temb)
        return self.attn[index](h) if len(self.attn) else h


class _Middle(nn.Module):
    def __init__(self, c: int, temb: int):
        super().__init__()
        self.block_1, self.attn_1, self.block_2 = ResnetBlock(c, c, temb), AttnBlock(c), ResnetBlock(c, c, temb)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(x, temb)), temb)


class DiffusionUNet(nn.Module):
    """Noise predictor eps(cat(condition, x_t), t).

    Args:
        channels: base width ch (64). channel_mult: width factor per level ((1, 2, 3, 4)).
        res_blocks: ResnetBlocks per level on the way down (2; one more on the way up).
        attention_levels: levels with attention after every block (the authors': (2,)).
        in_channels / out_channels: 6 (condition + x_t, 3 each) / 3 (noise).
    All widths ch * mult and their up-path concatenations must be multiples of 32 (GroupNorm groups).
    """

    def __init__(self, channels: int = 64, channel_mult: Sequence[int] = (1, 2, 3, 4), res_blocks: int = 2,
                 attention_levels: Sequence[int] = (2,), in_channels: int = 6, out_channels: int = 3):
        super().__init__()
        self.channels, self.res_blocks = channels, res_blocks
        temb = 4 * channels
        widths = [channels * m for m in channel_mult]
        levels = len(widths)
        self.temb = _TimestepMLP(channels, temb)
        self.conv_in = nn.Conv2d(in_channels, channels, 3, padding=1)
        skip_widths, width = [channels], channels
        self.down = nn.ModuleList()
        for i, out in enumerate(widths):
            blocks = []
            for _ in range(res_blocks):
                blocks.append(ResnetBlock(width, out, temb))
                width = out
                skip_widths.append(width)
            last = i == levels - 1
            self.down.append(_Level(blocks, i in attention_levels, None if last else Downsample(width), "downsample"))
            if not last:
                skip_widths.append(width)
        self.mid = _Middle(width, temb)
        up = []
        for i in reversed(range(levels)):
            blocks = []
            for _ in range(res_blocks + 1):
                blocks.append(ResnetBlock(width + skip_widths.pop(), widths[i], temb))
                width = widths[i]
            up.insert(0, _Level(blocks, i in attention_levels, Upsample(width) if i else None, "upsample"))
        self.up = nn.ModuleList(up)
        self.norm_out = _norm(width)
        self.conv_out = nn.Conv2d(width, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x [B, in_channels, h, w], t [B] float -> predicted noise [B, out_channels, h, w]."""
        temb = self.temb(timestep_embedding(t, self.channels))
        skips = [self.conv_in(x)]
        for i, level in enumerate(self.down):
            for j in range(self.res_blocks):
                skips.append(level.run(j, skips[-1], temb))
            if hasattr(level, "downsample"):
                skips.append(level.downsample(skips[-1]))
        h = self.mid(skips[-1], temb)
        for level in reversed(self.up):
            for j in range(self.res_blocks + 1):
                h = level.run(j, torch.cat([h, skips.pop()], dim=1), temb)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))
