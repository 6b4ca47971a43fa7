"""netH (the authors' ResnetExtractor): an attention mask for the enhancer's input and a residual image H.

    f = [ReflectionPad(3), conv 7x7 3->C, IN, ReLU, 3 x ResnetBlock(C), ReflectionPad(3)](x)  [N, C, H+6, W+6]
    channel weights v = conv_ca(fc2(relu(fc1(cat(avgpool(f), maxpool(f))))))            [N, C, 1, 1]
        (fc1 1x1 2C->C/16, fc2 1x1 C/16->2C, conv_ca 1x1 2C->C, no biases, no sigmoid)
    g = v * f;  mask = sigmoid(conv1(cat(mean_c(g), max_c(g))))    conv1 7x7 2->1, no padding  [N, 1, H, W]
    H = tanh(output(f))                                            output 7x7 C->3, no padding [N, 3, H, W]

The pools run over the padded map, as in the authors' module. Only the mask is used at test time
(fake_B = G_A(cat(x, pre_A) * mask)); H enters the training losses.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from facebench.enhancers.nerco.blocks import ResnetBlock, instance_norm


class Extractor(nn.Module):
    """netH. Args: ngf: C (a multiple of 16). blocks: residual blocks (3 in the authors' code)."""

    def __init__(self, ngf: int = 64, blocks: int = 3):
        super().__init__()
        if ngf < 16 or ngf % 16:
            raise ValueError(f"nerco: ngf must be a positive multiple of 16 (netH squeezes 2C -> C/16), got {ngf}")
        self.model = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), instance_norm(ngf), nn.ReLU(True),
                                   *[ResnetBlock(ngf) for _ in range(blocks)], nn.ReflectionPad2d(3))
        self.output = nn.Conv2d(ngf, 3, 7)
        self.fc1 = nn.Conv2d(2 * ngf, ngf // 16, 1, bias=False)
        self.fc2 = nn.Conv2d(ngf // 16, 2 * ngf, 1, bias=False)
        self.conv_ca = nn.Conv2d(2 * ngf, ngf, 1, bias=False)
        self.conv1 = nn.Conv2d(2, 1, 7, bias=False)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x (Tensor[N, 3, H, W], RGB in [-1, 1]) -> (H, mask).

        H: Tensor[N, 3, H, W] in [-1, 1]; mask: Tensor[N, 1, H, W] in (0, 1).
        """
        f = self.model(x)
        pooled = torch.cat([f.mean(dim=(2, 3), keepdim=True), f.amax(dim=(2, 3), keepdim=True)], dim=1)
        g = self.conv_ca(self.fc2(torch.relu(self.fc1(pooled)))) * f
        mask = torch.sigmoid(self.conv1(torch.cat([g.mean(dim=1, keepdim=True), g.amax(dim=1, keepdim=True)], dim=1)))
        return torch.tanh(self.output(f)), mask
