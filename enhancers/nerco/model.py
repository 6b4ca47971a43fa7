"""NeRCo's test-time model: netPre (NRN branch), netH (mask) and netG_A (enhancer), with the authors' keys.

    pre_A = Pre(x);  H, mask = H(x);  fake_B = G_A(cat(x, pre_A) * mask)

State-dict keys are those of the authors' three test-time files with a file prefix: `G_A.*`
(latest_net_G_A.pth), `Pre.*` (latest_net_Pre.pth), `H.*` (latest_net_H.pth), as in the spec's
state_dict.tsv. The paper's architecture is `NeRCoArch()` (ngf 64, 9 residual blocks, NRN width 256;
23.3 M parameters); smaller ones (fewer channels / blocks) are used for CPU training here.

Tensors: x Tensor[N, 3, H, W], RGB normalised to [-1, 1] ((v - 0.5) / 0.5), H and W multiples of 4, >= 8.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Mapping

import torch
from torch import nn

from facebench.enhancers.nerco.blocks import ResnetGenerator
from facebench.enhancers.nerco.extractor import Extractor
from facebench.enhancers.nerco.nrn import PreProcess



@dataclass(frozen=True)
class NeRCoArch:
    """Architecture of the three test-time networks (the paper's by default).

    Attributes:
        ngf: channels of the first layer (trunks run at ngf, 2ngf, 4ngf); a multiple of 16.
        blocks: residual blocks of G_A's and Pre's trunks (netH always has `extractor_blocks`).
        nrn_hidden: width of the NRN's MLP.
        extractor_blocks: residual blocks of netH (3 in the authors' code, whatever n_blocks says).
    """

    ngf: int = 64
    blocks: int = 9
    nrn_hidden: int = 256
    extractor_blocks: int = 3


class NeRCoNet(nn.Module):
    """The three test-time networks as submodules `G_A`, `Pre`, `H`.

    forward(x) -> dict with
        fake_B (Tensor[N, 3, H, W] in [-1, 1]): the enhanced image;
        pre_A  (Tensor[N, 3, H, W]): the NRN branch's output (trained towards [-1, 1]);
        H      (Tensor[N, 3, H, W] in [-1, 1]): netH's image output (training losses only);
        mask   (Tensor[N, 1, H, W] in (0, 1)): netH's attention mask.
    The same outputs in train and eval mode (InstanceNorm without running statistics, no dropout).
    """

    def __init__(self, arch: NeRCoArch = NeRCoArch()):
        super().__init__()
        self.arch = arch
        self.G_A = ResnetGenerator(6, 3, arch.ngf, arch.blocks)
        self.Pre = PreProcess(arch.ngf, arch.blocks, arch.nrn_hidden)
        self.H = Extractor(arch.ngf, arch.extractor_blocks)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        pre_a = self.Pre(x)
        h, mask = self.H(x)
        fake_b = self.G_A(torch.cat([x, pre_a], dim=1) * mask)
        return {"fake_B": fake_b, "pre_A": pre_a, "H": h, "mask": mask}


def infer_arch(state: Mapping[str, torch.Tensor]) -> NeRCoArch:
    """The NeRCoArch whose state dict has these (prefixed) keys' shapes; KeyError if a key is missing.

    ngf from `G_A.model.1.weight` [ngf, 6, 7, 7], blocks from the `G_A.model.<i>.conv_block` indices,
    NRN width from `Pre.mlp.imnet.layers.0.weight`, netH blocks from `H.model.<i>.conv_block` (from 4).
    """
    def count(prefix: str) -> int:
        pattern = re.compile(re.escape(prefix) + r"(\d+)\.conv_block\.1\.weight$")
        return len({m.group(1) for m in map(pattern.match, state) if m})

    return NeRCoArch(ngf=int(state["G_A.model.1.weight"].shape[0]), blocks=count("G_A.model."),
                     nrn_hidden=int(state["Pre.mlp.imnet.layers.0.weight"].shape[0]),
                     extractor_blocks=count("H.model."))


def conformance_model() -> NeRCoNet:
    """Factory for the spec's conformance check: the paper's architecture, untrained (load weights after)."""
    return NeRCoNet(NeRCoArch())
