"""The convolutional trunk NeRCo's generators share: reflect-padded convs, InstanceNorm, residual blocks.

`trunk_layers(in_channels, ngf, blocks)` lists, in checkpoint order (the index of each layer in the
parent's `model` Sequential is part of the authors' key names, e.g. `model.10.conv_block.1.weight`):

    index  layer                                       output (for input Tensor[N, C, H, W])
    0-3    ReflectionPad(3), conv 7x7 C->ngf, IN, ReLU  [N, ngf, H, W]
    4-6    conv 3x3 s2 p1 ngf->2ngf, IN, ReLU           [N, 2ngf, H/2, W/2]
    7-9    conv 3x3 s2 p1 2ngf->4ngf, IN, ReLU          [N, 4ngf, H/4, W/4]
    10..   `blocks` ResnetBlock(4ngf)                   [N, 4ngf, H/4, W/4]
    +0-2   ConvTranspose 3x3 s2 p1 op1 4ngf->2ngf, IN, ReLU   [N, 2ngf, H/2, W/2]
    +3-5   ConvTranspose 3x3 s2 p1 op1 2ngf->ngf, IN, ReLU    [N, ngf, H, W]

IN = InstanceNorm2d(affine=False, no running statistics, eps 1e-5): every image is normalised on its own,
so train and eval mode compute the same thing. Convs before an IN keep their bias (it is cancelled by the
norm but present in the checkpoints). H and W must be multiples of 4 and at least 8 (reflection padding
needs a side of at least 2 at 1/4 resolution).
"""
from __future__ import annotations

from typing import List

import torch
from torch import nn


def instance_norm(channels: int) -> nn.InstanceNorm2d:
    """InstanceNorm2d without affine parameters or running statistics (the authors' 'instance' norm)."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """x + [ReflectionPad(1), conv 3x3, IN, ReLU, ReflectionPad(1), conv 3x3, IN](x); keys `conv_block.{1,5}`.

    forward: Tensor[N, C, H, W] -> Tensor[N, C, H, W] (H, W >= 2).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), instance_norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), instance_norm(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def trunk_layers(in_channels: int, ngf: int, blocks: int) -> List[nn.Module]:
    """The encoder / residual / decoder layers listed in the module docstring (ends with a ReLU)."""
    layers: List[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7), instance_norm(ngf), nn.ReLU(True)]
    for mult in (1, 2):
        layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1), instance_norm(ngf * mult * 2),
                   nn.ReLU(True)]
    layers += [ResnetBlock(ngf * 4) for _ in range(blocks)]
    for mult in (4, 2):
        layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1),
                   instance_norm(ngf * mult // 2), nn.ReLU(True)]
    return layers


class ResnetGenerator(nn.Module):
    """netG_A / netG_B: the trunk, then ReflectionPad(3), conv 7x7 ngf->out_channels, tanh (keys `model.*`).

    forward: x (Tensor[N, in_channels, H, W], RGB in [-1, 1]; netG_A takes two images concatenated)
    -> Tensor[N, out_channels, H, W] in [-1, 1].
    """

    def __init__(self, in_channels: int, out_channels: int = 3, ngf: int = 64, blocks: int = 9):
        super().__init__()
        self.model = nn.Sequential(*trunk_layers(in_channels, ngf, blocks), nn.ReflectionPad2d(3),
                                   nn.Conv2d(ngf, out_channels, 7), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
