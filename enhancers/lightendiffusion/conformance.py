"""The object the spec's conformance check builds (`facebench.enhancers.lightendiffusion:conformance_model`).

The authors' checkpoint was saved from `torch.nn.DataParallel(Net)`, so its keys start with `module.`.
`AuthorsLayout` holds the network as its `module` attribute: its own `state_dict()` / strict
`load_state_dict()` then use exactly those keys, with no renaming anywhere.
"""
from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from facebench.enhancers.lightendiffusion.architecture import DEFAULT_STEPS, FULL
from facebench.enhancers.lightendiffusion.model import LightenDiffusionNet


class AuthorsLayout(nn.Module):
    """LightenDiffusionNet under the name `module`; the methods the conformance check calls delegate to it.

    Args: net: the network (default: a fresh one with the authors' sizes).
    """

    def __init__(self, net: "LightenDiffusionNet | None" = None):
        super().__init__()
        self.module = net if net is not None else LightenDiffusionNet(FULL)

    def decompose(self, x6: torch.Tensor) -> Dict[str, torch.Tensor]:
        return self.module.decompose(x6)

    def denoise(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.module.denoise(x, t)

    def decode(self, x3: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        return self.module.decode(x3, feature)

    def sample(self, condition: torch.Tensor, noise: torch.Tensor, steps: int = DEFAULT_STEPS) -> torch.Tensor:
        return self.module.sample(condition, noise, steps)

    def enhance(self, x3: torch.Tensor, noise: torch.Tensor, steps: int = DEFAULT_STEPS) -> torch.Tensor:
        return self.module.enhance(x3, noise, steps)


def conformance_model() -> AuthorsLayout:
    """Factory for `python conformance.py check facebench.enhancers.lightendiffusion:conformance_model`."""
    return AuthorsLayout()
