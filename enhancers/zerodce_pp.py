"""`zerodce++`: Zero-DCE++ (Li, Guo & Loy, TPAMI 2021), the authors' lightweight network and weights.

Differences from Zero-DCE (the authors' `enhance_net_nopool`): every 3x3 conv is depthwise-separable
(a depthwise 3x3 conv then a pointwise 1x1 conv, both with bias); the head outputs ONE 3-channel curve
map r, applied 8 times; and the curve is estimated on a downsampled copy of the input (bilinear,
1/scale_factor) and bilinearly upsampled back (align_corners=True, as the authors'
`UpsamplingBilinear2d`), then applied to the full-resolution input.

Sizes: the authors' test script crops H and W down to multiples of scale_factor (12) so that the
upsampled curve matches the input. We never crop: the curve is estimated at
(max(1, round(H / s)), max(1, round(W / s))) and interpolated to exactly (H, W). When H and W are
multiples of s this is the authors' computation exactly; otherwise the effective scale differs from s
by less than half a pixel of the small image.

Tensors: images [B, 3, H, W] float32 RGB in [0, 1]; curve map r [B, 3, H, W] in [-1, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.zerodce import CurveEnhancer, apply_curves

SOURCE = "https://github.com/Li-Chongyi/Zero-DCE_extension (authors' release; terms: see the repository)"
_WEIGHTS = BUILTIN_ENHANCERS["zerodce++"].meta.weights  # declared where zerodce++ is registered
WEIGHTS_FILE, ORIGIN = _WEIGHTS.file, _WEIGHTS.origin


class _SeparableConv(nn.Module):
    """3x3 depthwise conv (in -> in, groups=in) then 1x1 pointwise conv (in -> out); names as the authors'."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.depth_conv = nn.Conv2d(cin, cin, 3, padding=1, groups=cin)
        self.point_conv = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.depth_conv(x))


def small_size(height: int, width: int, scale_factor: float) -> Tuple[int, int]:
    """The size (h, w) at which the curve is estimated: H / s and W / s rounded, at least 1."""
    return max(1, round(height / scale_factor)), max(1, round(width / scale_factor))


class ZeroDCEPlusNet(nn.Module):
    """Zero-DCE++'s network: 7 separable convs (32 channels, skip concatenations), tanh, 8 iterations.

    Args:
        scale_factor: the curve is estimated at 1/scale_factor of the input size (authors: 12 at test
            time, 1 in training).
        iterations: how many times the single curve map is applied (authors: 8).
    """

    def __init__(self, scale_factor: float = 12, iterations: int = 8, channels: int = 32):
        super().__init__()
        c = channels
        self.scale_factor = scale_factor
        self.iterations = iterations
        self.e_conv1 = _SeparableConv(3, c)
        self.e_conv2 = _SeparableConv(c, c)
        self.e_conv3 = _SeparableConv(c, c)
        self.e_conv4 = _SeparableConv(c, c)
        self.e_conv5 = _SeparableConv(2 * c, c)
        self.e_conv6 = _SeparableConv(2 * c, c)
        self.e_conv7 = _SeparableConv(2 * c, 3)

    def curve(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor[B, 3, H, W] in [0, 1]) -> curve map r (Tensor[B, 3, H, W] in [-1, 1])."""
        height, width = x.shape[-2:]
        small = x
        if self.scale_factor != 1:
            small = F.interpolate(x, size=small_size(height, width, self.scale_factor), mode="bilinear",
                                  align_corners=False)
        x1 = F.relu(self.e_conv1(small))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.e_conv6(torch.cat([x2, x5], 1)))
        r = torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))
        if r.shape[-2:] != x.shape[-2:]:
            r = F.interpolate(r, size=(height, width), mode="bilinear", align_corners=True)
        return r

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x (Tensor[B, 3, H, W] in [0, 1]) -> (enhanced Tensor[B, 3, H, W] in [0, 1], curve map r)."""
        r = self.curve(x)
        return apply_curves(x, [r] * self.iterations), r


@dataclass(frozen=True)
class ZeroDCEPlusConfig:
    scale_factor: float = 12  # curve estimated at 1/scale_factor resolution (authors' test value)


class ZeroDCEPlus(CurveEnhancer):
    """`zerodce++`: Zero-DCE++ with the authors' `Epoch99.pth`; keeps any H x W (no cropping).

    Args:
        weights: path of the weights file; default `$FACEBENCH_HOME/zerodce_pp/Epoch99.pth`.
        scale_factor: downsampling factor for curve estimation (authors: 12; 1 = full resolution).
    """

    name = "zerodce++"
    meta = BUILTIN_ENHANCERS["zerodce++"].meta
    origin, source = ORIGIN, SOURCE

    def __init__(self, weights: Optional[str] = None, scale_factor: float = 12):
        super().__init__()
        if scale_factor < 1:
            raise ValueError(f"zerodce++: scale_factor must be >= 1, got {scale_factor}")
        self.config = ZeroDCEPlusConfig(scale_factor)
        self.net = ZeroDCEPlusNet(scale_factor=scale_factor)
        self._load_user_weights(WEIGHTS_FILE, weights)
