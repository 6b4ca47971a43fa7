"""ReconNet: LightenDiffusion's image encoder / decoder (the "E" and "D" of the paper).

The encoder maps an image to a 3-channel latent feature at 1/8 resolution and keeps three pyramid levels
as skips; the decoder maps a latent feature back to an image, using the skips of the (low-light) image
it enhances. Parameter names match the `decom.ReconNet.*` keys of the authors' checkpoint.

Dimensions (C = `channels`, 64 in the authors' model):
    image            [B, 3, H, W]        float RGB in [0, 1] (H, W multiples of 8)
    skips            level0 [B, C, H/2, W/2], level1 [B, 2C, H/4, W/4], level2 [B, 4C, H/8, W/8]
    latent feature   [B, 3, H/8, W/8]    in (0, 1) (sigmoid)
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

Skips = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """LeakyReLU with PyTorch's default slope 0.01 (the authors' `nn.LeakyReLU()`)."""
    return F.leaky_relu(x, 0.01)


class ResBlock(nn.Module):
    """conv3 -> LeakyReLU -> conv3, plus a 1x1 conv shortcut (always present); no activation after the sum."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(),
                                   nn.Conv2d(cout, cout, 3, padding=1))
        self.conv = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + self.conv(x)


class _Pyramid(nn.Module):
    """Encoder trunk: two 5x5 convs, then three (ResBlock, stride-2 conv) stages -> the three skip levels."""

    def __init__(self, c: int):
        super().__init__()
        self.convs = nn.Sequential(nn.Conv2d(3, c, 5, padding=2), nn.Conv2d(c, c, 5, padding=2))
        self.block0, self.down0 = ResBlock(c, c), nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.block1, self.down1 = ResBlock(c, 2 * c), nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)
        self.block2, self.down2 = ResBlock(2 * c, 4 * c), nn.Conv2d(4 * c, 4 * c, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> Skips:
        level0 = self.down0(self.block0(self.convs(x)))
        level1 = self.down1(self.block1(level0))
        level2 = self.down2(self.block2(level1))
        return level0, level1, level2


class _ChannelDown(nn.Module):
    """4C -> 2C -> C -> 3 channels (conv3, LeakyReLU between), sigmoid: the latent feature in (0, 1)."""

    def __init__(self, c: int):
        super().__init__()
        self.conv0 = nn.Conv2d(4 * c, 2 * c, 3, padding=1)
        self.conv1 = nn.Conv2d(2 * c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv2(leaky_relu(self.conv1(leaky_relu(self.conv0(x))))))


class _ChannelUp(nn.Module):
    """3 -> C -> 2C -> 4C channels (conv3, LeakyReLU between, no final activation)."""

    def __init__(self, c: int):
        super().__init__()
        self.conv0 = nn.Conv2d(3, c, 3, padding=1)
        self.conv1 = nn.Conv2d(c, 2 * c, 3, padding=1)
        self.conv2 = nn.Conv2d(2 * c, 4 * c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(leaky_relu(self.conv1(leaky_relu(self.conv0(x)))))


class _UpSampling(nn.Module):
    """ConvTranspose2d(k3, stride 2, padding 1, output_padding 1) + LeakyReLU: doubles H and W."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky_relu(self.conv(x))


class ReconNet(nn.Module):
    """Encoder (`pyramid` + `channel_down`) and decoder (`channel_up`, `block_up0..5`, `up_sampling0..2`,
    `conv2`, `conv3`).

    Args:
        channels: C, width of the first pyramid level (64 in the authors' model).
    """

    def __init__(self, channels: int = 64):
        super().__init__()
        c = channels
        self.pyramid = _Pyramid(c)
        self.channel_down = _ChannelDown(c)
        self.channel_up = _ChannelUp(c)
        self.block_up0, self.block_up1 = ResBlock(4 * c, 4 * c), ResBlock(4 * c, 4 * c)
        self.up_sampling0 = _UpSampling(4 * c, 2 * c)
        self.block_up2, self.block_up3 = ResBlock(2 * c, 2 * c), ResBlock(2 * c, 2 * c)
        self.up_sampling1 = _UpSampling(2 * c, c)
        self.block_up4, self.block_up5 = ResBlock(c, c), ResBlock(c, c)
        self.up_sampling2 = _UpSampling(c, c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.conv3 = nn.Conv2d(c, 3, 1)

    def encode(self, images: torch.Tensor) -> Tuple[torch.Tensor, Skips]:
        """images [B, 3, H, W] in [0, 1] -> (latent feature [B, 3, H/8, W/8] in (0, 1), skips)."""
        skips = self.pyramid(images)
        return self.channel_down(skips[2]), skips

    def decode(self, feature: torch.Tensor, skips: Skips) -> torch.Tensor:
        """feature [B, 3, H/8, W/8] (normally in [0, 1]) and the skips of an image -> image [B, 3, H, W]
        (no output activation: values slightly outside [0, 1] are possible)."""
        level0, level1, level2 = skips
        u = self.up_sampling0(self.block_up1(self.block_up0(self.channel_up(feature)) + level2))
        u = self.up_sampling1(self.block_up3(self.block_up2(u) + level1))
        u = self.up_sampling2(self.block_up5(self.block_up4(u) + level0))
        return self.conv3(leaky_relu(self.conv2(u)))
