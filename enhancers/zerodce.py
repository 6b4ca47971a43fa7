"""`zerodce`: Zero-DCE (Guo et al., CVPR 2020), the authors' network and released weights.

A 7-layer CNN (DCE-Net) estimates 8 pixel-wise curve maps r_1..r_8 (3 channels each, in [-1, 1]);
the image is brightened by 8 iterations of the light-enhancement curve x <- x + r_n * (x^2 - x).
The curve keeps x in [0, 1] for any r in [-1, 1], so the output needs no renormalisation.

Tensors: images [B, 3, H, W] float32 RGB in [0, 1]; curve maps A [B, 24, H, W] in [-1, 1]
(r_n = A[:, 3(n-1):3n]).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.authors_weights import AuthorsWeightsEnhancer

SOURCE = "https://github.com/Li-Chongyi/Zero-DCE (authors' release; CC BY-NC 4.0, research use)"
_WEIGHTS = BUILTIN_ENHANCERS["zerodce"].meta.weights  # declared where zerodce is registered
WEIGHTS_FILE, ORIGIN = _WEIGHTS.file, _WEIGHTS.origin


def apply_curves(images: torch.Tensor, maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """Iterate the light-enhancement curve x <- x + r * (x^2 - x) once per map r of `maps`.

    Args:
        images: Tensor[B, 3, H, W] in [0, 1].
        maps: curve maps r, each Tensor[B, 3, H, W] in [-1, 1], applied in order.

    Returns:
        Tensor[B, 3, H, W] in [0, 1].
    """
    x = images
    for r in maps:
        x = x + r * (x * x - x)
    return x


class ZeroDCENet(nn.Module):
    """DCE-Net: 3x3 convs with 32 channels, symmetric skip concatenations, tanh curve head.

    Parameter names match the authors' checkpoint (e_conv1 ... e_conv7), 79,416 parameters.
    """

    def __init__(self, channels: int = 32, iterations: int = 8):
        super().__init__()
        c = channels
        self.e_conv1 = nn.Conv2d(3, c, 3, padding=1)
        self.e_conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.e_conv3 = nn.Conv2d(c, c, 3, padding=1)
        self.e_conv4 = nn.Conv2d(c, c, 3, padding=1)
        self.e_conv5 = nn.Conv2d(2 * c, c, 3, padding=1)
        self.e_conv6 = nn.Conv2d(2 * c, c, 3, padding=1)
        self.e_conv7 = nn.Conv2d(2 * c, 3 * iterations, 3, padding=1)

    def curves(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor[B, 3, H, W] in [0, 1]) -> curve maps A (Tensor[B, 3 * iterations, H, W] in [-1, 1])."""
        x1 = F.relu(self.e_conv1(x))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.e_conv6(torch.cat([x2, x5], 1)))
        return torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x (Tensor[B, 3, H, W] in [0, 1]) -> (enhanced Tensor[B, 3, H, W] in [0, 1], curve maps A)."""
        a = self.curves(x)
        return apply_curves(x, torch.split(a, 3, dim=1)), a


def init_weights(net: nn.Module) -> None:
    """The authors' initialisation for training from scratch: conv weights ~ N(0, 0.02), default biases."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)


class CurveEnhancer(AuthorsWeightsEnhancer):
    """An authors'-weights enhancer whose `net(x)` returns (enhanced image, curve maps): Zero-DCE, Zero-DCE++."""

    @torch.no_grad()
    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        enhanced, _ = self.net(images.to(self.device).clamp(0, 1))
        return enhanced.clamp(0, 1)


class ZeroDCE(CurveEnhancer):
    """`zerodce`: Zero-DCE with the authors' `Epoch99.pth` (or weights trained by `train-enhancer zerodce`).

    Args:
        weights: path of the weights file; default `$FACEBENCH_HOME/zerodce/Epoch99.pth`.
    """

    name = "zerodce"
    meta = BUILTIN_ENHANCERS["zerodce"].meta
    origin, source = ORIGIN, SOURCE

    def __init__(self, weights: Optional[str] = None):
        super().__init__()
        self.net = ZeroDCENet()
        self._load_user_weights(WEIGHTS_FILE, weights)
