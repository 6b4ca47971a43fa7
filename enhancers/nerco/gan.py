"""All of NeRCo's trained networks and the forward pass of its dual closed loop.

Networks (the paper's Fig. 2): the test-time NeRCoNet (`net.G_A`, `net.Pre`, `net.H`), the backward
generator G_B (normal -> low light, a ResnetGenerator 3 -> 3), and four PatchGAN discriminators:
D_A (normal-light images), D_B (low-light images), D_A_edge / D_B_edge (their edge maps).

Dual loop (`forward`), A = low-light batch, B = normal-light batch, both Tensor[N, 3, h, w] in [-1, 1]:
    pre_A = Pre(A);  H, mask = netH(A);  fake_B = G_A(cat(A, pre_A) * mask);  rec_A = G_B(fake_B)
    fake_A = G_B(B * mask);  rec_B = G_A(cat(fake_A, Pre(fake_A)))
(the mask estimated on A also multiplies B, as in the authors' code; A and B have the same size).
"""
from __future__ import annotations

import itertools
from typing import Dict, Iterator, List

import torch
from torch import nn

from facebench.enhancers.nerco.blocks import ResnetGenerator
from facebench.enhancers.nerco.discriminator import PatchDiscriminator
from facebench.enhancers.nerco.model import NeRCoArch, NeRCoNet

DISCRIMINATORS = ("D_A", "D_B", "D_A_edge", "D_B_edge")


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """The authors' initialisation: conv / linear weights ~ N(0, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class NeRCoGAN(nn.Module):
    """Generators (net, G_B) and discriminators (D_A, D_B, D_A_edge, D_B_edge), initialised N(0, 0.02).

    Args:
        arch: architecture of the test-time networks (G_B uses its ngf and blocks).
        ndf: first-layer channels of the discriminators (64 in the paper).
    """

    def __init__(self, arch: NeRCoArch = NeRCoArch(), ndf: int = 64):
        super().__init__()
        self.net = NeRCoNet(arch)
        self.G_B = ResnetGenerator(3, 3, arch.ngf, arch.blocks)
        for name in DISCRIMINATORS:
            setattr(self, name, PatchDiscriminator(3, ndf))
        init_weights(self)

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of Pre, G_A, H and G_B (one optimiser, as in the paper)."""
        return itertools.chain(self.net.parameters(), self.G_B.parameters())

    def discriminators(self) -> List[nn.Module]:
        return [getattr(self, name) for name in DISCRIMINATORS]

    def forward(self, real_a: torch.Tensor, real_b: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The dual loop (module docstring) -> dict of Tensor[N, 3, h, w] (mask: [N, 1, h, w]):
        pre_A, H, mask, fake_B, rec_A, fake_A, rec_B."""
        out = self.net(real_a)
        out["rec_A"] = self.G_B(out["fake_B"])
        out["fake_A"] = self.G_B(real_b * out["mask"])
        out["rec_B"] = self.net.G_A(torch.cat([out["fake_A"], self.net.Pre(out["fake_A"])], dim=1))
        return out
