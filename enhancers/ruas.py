"""`ruas`: RUAS (Liu et al., CVPR 2021), the authors' searched unrolled Retinex network and weights.

Illumination estimation (IEM, unrolled 3 times, u_0 = 1, y = input):
    t_hat = max2x2(y) if k == 0 else max2x2(u) - 0.5 * (u - y)
    t = clamp(sigmoid(cell_k(t_hat)), 0.001, 1);  u = clamp(y / t, 0, 1)
then noise removal (NRM): denoised = u_3 - denoise_net(u_3). The cells are the authors' searched
architectures (genotypes below); every conv has a bias and "same" padding.

Variants = the authors' weight files: `dark` (DARK FACE, default), `lol` (LOL), `upe` (MIT-Adobe
FiveK). As in the authors' test script, `dark` and `upe` output u_3 and `lol` outputs the denoised
image (clamped to [0, 1]).

Tensors: images [B, 3, H, W] float32 RGB in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.authors_weights import AuthorsWeightsEnhancer

ORIGIN = BUILTIN_ENHANCERS["ruas"].meta.weights.origin  # declared where ruas is registered
SOURCE = "https://github.com/KarelZhang/RUAS (authors' release; terms: see the repository)"
VARIANTS = ("dark", "lol", "upe")
OUTPUTS = {"dark": "enhanced", "upe": "enhanced", "lol": "denoised"}

# Operations of the SearchBlock slots c1_d, c1_r, c2_d, c2_r, c3_d, c3_r, c4 (authors' genotypes).
IEM_OPS = ("skip", "resconv_1x1", "resdilconv_3x3", "conv_3x3", "conv_3x3", "skip", "conv_3x3")
NRM_OPS = ("resconv_1x1", "resconv_1x1", "resdilconv_3x3", "skip", "resconv_1x1", "resconv_1x1", "skip")
_SLOTS = ("c1_d", "c1_r", "c2_d", "c2_r", "c3_d", "c3_r", "c4")


def weights_file(variant: str) -> str:
    """File name of a variant inside $FACEBENCH_HOME, e.g. 'ruas/dark.pt'."""
    return f"ruas/{variant}.pt"


class _Op(nn.Module):
    """One searched operation on C channels: a conv stored as `.op` (+ x for the residual kinds)."""

    _SPECS = {"conv_1x1": (1, 1, False), "conv_3x3": (3, 1, False), "resconv_1x1": (1, 1, True),
              "resconv_3x3": (3, 1, True), "resdilconv_3x3": (3, 2, True)}

    def __init__(self, kind: str, channels: int):
        super().__init__()
        kernel, dilation, self.residual = self._SPECS[kind]
        self.op = nn.Conv2d(channels, channels, kernel, padding=(kernel - 1) // 2 * dilation, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.op(x)
        return y + x if self.residual else y


def _make_op(kind: str, channels: int) -> nn.Module:
    return nn.Identity() if kind == "skip" else _Op(kind, channels)


class SearchBlock(nn.Module):
    """The authors' searched cell (C -> C): three distil/refine stages, a last op, a 1x1 fusion of 4C."""

    def __init__(self, channels: int, ops: Sequence[str]):
        super().__init__()
        for slot, kind in zip(_SLOTS, ops):
            self.add_module(slot, _make_op(kind, channels))
        self.c5 = nn.Conv2d(4 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = lambda t: F.leaky_relu(t, 0.05)  # noqa: E731
        d1 = act(self.c1_d(x))
        r1 = act(self.c1_r(x) + x)
        d2 = act(self.c2_d(r1))
        r2 = act(self.c2_r(r1) + r1)
        d3 = act(self.c3_d(r2))
        r3 = act(self.c3_r(r2) + r2)
        r4 = act(self.c4(r3))
        return self.c5(torch.cat([d1, d2, d3, r4], dim=1))


def max2x2(x: torch.Tensor) -> torch.Tensor:
    """Max over the 2x2 window starting at each pixel (x[i:i+2, j:j+2]), zero beyond the bottom/right edge.

    The authors' code pads 1 on every side and drops the first row and column, which leaves the
    padding on the bottom/right. Keeps Tensor[B, C, H, W].
    """
    padded = F.pad(x, (0, 1, 0, 1))
    rows = torch.maximum(padded[:, :, :-1, :], padded[:, :, 1:, :])
    return torch.maximum(rows[:, :, :, :-1], rows[:, :, :, 1:])


class _IEM(nn.Module):
    """Holds one stage's cell (the authors' `iems.k.cell` key path); the stage logic is in EnhanceNet."""

    def __init__(self):
        super().__init__()
        self.cell = SearchBlock(3, IEM_OPS)


class EnhanceNet(nn.Module):
    """Three unrolled illumination-estimation stages; returns the estimates u_1, u_2, u_3."""

    def __init__(self, stages: int = 3):
        super().__init__()
        self.iems = nn.ModuleList([_IEM() for _ in range(stages)])

    def forward(self, y: torch.Tensor) -> List[torch.Tensor]:
        """y (Tensor[B, 3, H, W] in [0, 1]) -> [u_1, u_2, u_3], each Tensor[B, 3, H, W] in [0, 1]."""
        u = torch.ones_like(y)
        outputs = []
        for k, iem in enumerate(self.iems):
            t_hat = max2x2(y) if k == 0 else max2x2(u) - 0.5 * (u - y)
            t = torch.clamp(torch.sigmoid(iem.cell(t_hat)), 0.001, 1.0)
            u = torch.clamp(y / t, 0.0, 1.0)
            outputs.append(u)
        return outputs


class DenoiseNet(nn.Module):
    """Noise estimation: 3x3 stem 3 -> C, three NRM cells, 3x3 conv C -> 3; returns input - noise."""

    def __init__(self, channels: int = 6, cells: int = 3):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.nrms = nn.ModuleList([SearchBlock(channels, NRM_OPS) for _ in range(cells)])
        self.activate = nn.Sequential(nn.Conv2d(channels, 3, 3, padding=1))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """u (Tensor[B, 3, H, W]) -> denoised u - n (Tensor[B, 3, H, W], not clamped)."""
        feat = self.stem(u)
        for cell in self.nrms:
            feat = cell(feat)
        return u - self.activate(feat)


class RUASNet(nn.Module):
    """The whole network as stored in the authors' files (`enhance_net.*`, `denoise_net.*`)."""

    def __init__(self):
        super().__init__()
        self.enhance_net = EnhanceNet()
        self.denoise_net = DenoiseNet()

    def forward(self, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """y (Tensor[B, 3, H, W] in [0, 1]) -> (u_3 in [0, 1], denoised u_3 - n, not clamped)."""
        u3 = self.enhance_net(y)[-1]
        return u3, self.denoise_net(u3)


@dataclass(frozen=True)
class RUASConfig:
    variant: str = "dark"  # dark | lol | upe (authors' weight files)
    output: str = "enhanced"  # enhanced (u_3) | denoised; follows the authors' test script per variant


class RUAS(AuthorsWeightsEnhancer):
    """`ruas`: RUAS with the authors' weights, loaded strictly.

    Args:
        variant: 'dark' (default; trained on DARK FACE), 'lol' or 'upe'.
        weights: path of a weights file; default `$FACEBENCH_HOME/ruas/<variant>.pt`.
    """

    name = "ruas"
    meta = BUILTIN_ENHANCERS["ruas"].meta
    origin, source = ORIGIN, SOURCE

    def __init__(self, variant: str = "dark", weights: Optional[str] = None):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"ruas: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        self.config = RUASConfig(variant, OUTPUTS[variant])
        self.net = RUASNet()
        self._load_user_weights(weights_file(variant), weights)  # the whole network, 76 tensors

    @torch.no_grad()
    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(self.device).clamp(0, 1)
        if self.config.output == "enhanced":
            return self.net.enhance_net(x)[-1]
        return self.net(x)[1].clamp(0, 1)
