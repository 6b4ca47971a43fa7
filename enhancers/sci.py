"""`sci`: SCI, Self-Calibrated Illumination (Ma et al., CVPR 2022), the authors' test-time network.

At test time SCI is a three-conv illumination estimator (the self-calibration module is training-only):
    fea = relu(in_conv(x)); fea = fea + block(fea); o = sigmoid(out_conv(fea))
    illumination i = clamp(o + x, 1e-4, 1); output = clamp(x / i, 0, 1)
where `block` = 3x3 conv + BatchNorm (inference statistics) + ReLU. The authors' module stores that
block twice (`enhance.conv` and `enhance.blocks.0` are the same module), so both key sets load into the
one shared module here and must agree.

Variants = the authors' three released weight files: `easy` (MIT-Adobe FiveK), `medium` (LSRW),
`difficult` (DARK FACE; the default here, since facebench is about DARK FACE).

Tensors: images [B, 3, H, W] float32 RGB in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import torch
from torch import nn

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.authors_weights import AuthorsWeightsEnhancer

ORIGIN = BUILTIN_ENHANCERS["sci"].meta.weights.origin  # declared where sci is registered
SOURCE = "https://github.com/vis-opt-group/SCI (authors' release; MIT licence)"
VARIANTS = ("easy", "medium", "difficult")


def weights_file(variant: str) -> str:
    """File name of a variant inside $FACEBENCH_HOME, e.g. 'sci/difficult.pt'."""
    return f"sci/{variant}.pt"


class SCINet(nn.Module):
    """SCI's test-time illumination network (`EnhanceNetwork` with one shared residual block).

    Parameter names match the `enhance.*` keys of the authors' checkpoints without the prefix.
    """

    def __init__(self, channels: int = 3):
        super().__init__()
        c = channels
        self.in_conv = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU())
        self.conv = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())
        self.blocks = nn.ModuleList([self.conv])
        self.out_conv = nn.Sequential(nn.Conv2d(c, 3, 3, padding=1), nn.Sigmoid())

    def illumination(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor[B, 3, H, W] in [0, 1]) -> illumination (Tensor[B, 3, H, W] in [1e-4, 1])."""
        fea = self.in_conv(x)
        for block in self.blocks:
            fea = fea + block(fea)
        return torch.clamp(self.out_conv(fea) + x, 1e-4, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor[B, 3, H, W] in [0, 1]) -> reflectance x / illumination, Tensor[B, 3, H, W] in [0, 1]."""
        return torch.clamp(x / self.illumination(x), 0.0, 1.0)


def _enhance_part(state: Dict[str, torch.Tensor], path: "str | Path") -> Dict[str, torch.Tensor]:
    """The `enhance.*` tensors of an authors' checkpoint, prefix removed; the two copies of the shared
    block must be equal. A facebench checkpoint of SCINet (no prefix) passes through unchanged."""
    if not any(k.startswith("enhance.") for k in state):
        return state
    part = {k[len("enhance."):]: v for k, v in state.items() if k.startswith("enhance.")}
    for key, value in part.items():
        if key.startswith("conv.") and not torch.equal(value, part.get("blocks.0." + key[5:], value)):
            raise ValueError(f"{path}: enhance.{key} and enhance.blocks.0.{key[5:]} differ; expected one shared block")
    return part


@dataclass(frozen=True)
class SCIConfig:
    variant: str = "difficult"  # easy | medium | difficult (authors' weight files)


class SCI(AuthorsWeightsEnhancer):
    """`sci`: SCI with the authors' weights.

    Args:
        variant: 'easy', 'medium' or 'difficult' (default; trained on DARK FACE).
        weights: path of a weights file; default `$FACEBENCH_HOME/sci/<variant>.pt`.
    """

    name = "sci"
    meta = BUILTIN_ENHANCERS["sci"].meta
    origin, source = ORIGIN, SOURCE

    def __init__(self, variant: str = "difficult", weights: Optional[str] = None):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"sci: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        self.config = SCIConfig(variant)
        self.net = SCINet()
        self._load_user_weights(weights_file(variant), weights)

    def _net_state(self, state: Dict[str, torch.Tensor], path: "str | Path") -> Dict[str, torch.Tensor]:
        """The `enhance.*` part of an authors' checkpoint (CUDA-saved files load on CPU)."""
        return _enhance_part(state, path)

    @torch.no_grad()
    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.to(self.device).clamp(0, 1))
