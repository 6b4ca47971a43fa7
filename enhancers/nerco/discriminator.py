"""NeRCo's discriminators: 70x70 PatchGAN (3 strided layers), as D_A, D_B, D_A_edge and D_B_edge.

    conv 4x4 s2 p1 in->ndf, LeakyReLU(0.2)
    conv 4x4 s2 p1 ndf->2ndf, IN, LeakyReLU;  conv 4x4 s2 p1 2ndf->4ndf, IN, LeakyReLU
    conv 4x4 s1 p1 4ndf->8ndf, IN, LeakyReLU;  conv 4x4 s1 p1 8ndf->1   (one score per patch, no activation)

forward: x (Tensor[N, 3, H, W], an image in [-1, 1] or an edge map) -> Tensor[N, 1, H/8 - 2, W/8 - 2]
(for H, W multiples of 8), trained towards 1 on real and 0 on generated inputs (least squares).
"""
from __future__ import annotations

import torch
from torch import nn

from facebench.enhancers.nerco.blocks import instance_norm


class PatchDiscriminator(nn.Module):
    """PatchGAN with `ndf` first-layer channels (64 in the paper)."""

    def __init__(self, in_channels: int = 3, ndf: int = 64):
        super().__init__()
        layers = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        for mult_in, mult_out, stride in ((1, 2, 2), (2, 4, 2), (4, 8, 1)):
            layers += [nn.Conv2d(ndf * mult_in, ndf * mult_out, 4, stride=stride, padding=1),
                       instance_norm(ndf * mult_out), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * 8, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
