"""NeRCo's neural representation branch (netPre): the trunk, then the NRN, an implicit-representation MLP.

The authors' NRN queries an MLP at every pixel of the trunk's full-resolution feature map `feat`
[N, C, H, W]. Its per-pixel input (length 9C + 2 + 4L + 2, L = 8 frequencies; 612 for C = 64) is
    [3x3 unfold of feat (9C, channel-major c*9 + ky*3 + kx, zero padding),
     relative coordinate (2) and its sin/cos encoding (4L),
     relative cell size (2)].
Because the query grid is the feature grid, the relative coordinate and its encoding are exactly 0 and the
cell is the constant (float32(2/H) * H, float32(2/W) * W) = (2, 2); the 4-way local ensemble averages four
identical predictions. So the NRN is exactly a per-pixel MLP on the 3x3 neighbourhood:
    layer 0  = conv 3x3 (zero padding) with the first 9C columns of `layers.0.weight`, whose bias is
               `layers.0.bias` + (cell columns) @ cell (the coordinate columns meet zero inputs);
    layers 2, 4, 6 = 1x1 convs. ReLU between layers, no output activation.
This form gives the authors' outputs (checked against their module in the spec) and the same gradients
for every parameter, without materialising the 9C-channel unfold. The map is decoded in bands of rows so
that a 1080x720 frame needs ~130 MB per hidden activation instead of ~800 MB.

Tensors: feat Tensor[N, C, H, W] float32; output Tensor[N, 3, H, W] (unbounded; trained towards [-1, 1]).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from facebench.enhancers.nerco.blocks import trunk_layers

FREQUENCIES = 8  # L of the positional encoding
COORD_INPUTS = 2 + 4 * FREQUENCIES  # relative coordinate + its sin/cos encoding (always 0 here)
CELL_INPUTS = 2
PIXELS_PER_BAND = 1 << 17  # pixels decoded at once (bounds memory on large frames)


class PixelMLP(nn.Module):
    """`imnet`: Linear in->hidden, ReLU, (Linear hidden->hidden, ReLU) x (depth - 1), Linear hidden->3.

    Keys `layers.0/2/4/6` for depth 3 (the authors' hidden list [256, 256, 256]).
    """

    def __init__(self, in_features: int, hidden: int = 256, depth: int = 3, out_features: int = 3):
        super().__init__()
        layers, width = [], in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, out_features))
        self.layers = nn.Sequential(*layers)


class NRN(nn.Module):
    """The implicit neural representation decoder (`mlp` inside netPre), evaluated as convolutions.

    Args:
        channels: C, channels of the feature map (ngf). hidden: MLP width. depth: hidden layers.
    """

    def __init__(self, channels: int = 64, hidden: int = 256, depth: int = 3):
        super().__init__()
        self.channels = channels
        self.imnet = PixelMLP(9 * channels + COORD_INPUTS + CELL_INPUTS, hidden, depth)

    def _first_layer(self, height: int, width: int):
        """(conv weight Tensor[hidden, C, 3, 3], bias Tensor[hidden]) of layer 0 for an H x W grid."""
        linear = self.imnet.layers[0]
        weight = linear.weight[:, :9 * self.channels].reshape(-1, self.channels, 3, 3)
        scale = torch.tensor([2.0 / height, 2.0 / width], dtype=torch.float32)
        cell = (scale * torch.tensor([height, width], dtype=torch.float32)).to(linear.weight)
        return weight, linear.bias + linear.weight[:, -CELL_INPUTS:] @ cell

    def _decode(self, padded_rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Zero-padded rows Tensor[N, C, r + 2, W + 2] -> predictions for the r inner rows, Tensor[N, 3, r, W]."""
        x = F.relu(F.conv2d(padded_rows, weight, bias))
        for layer in list(self.imnet.layers)[2:]:
            if isinstance(layer, nn.Linear):
                x = F.conv2d(x, layer.weight[:, :, None, None], layer.bias)
            else:
                x = layer(x)
        return x

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """feat (Tensor[N, C, H, W]) -> Tensor[N, 3, H, W], one MLP prediction per pixel."""
        height, width = feat.shape[-2:]
        weight, bias = self._first_layer(height, width)
        padded = F.pad(feat, (1, 1, 1, 1))
        rows = max(1, PIXELS_PER_BAND // width)
        bands = [self._decode(padded[:, :, top:min(top + rows, height) + 2], weight, bias)
                 for top in range(0, height, rows)]
        return bands[0] if len(bands) == 1 else torch.cat(bands, dim=2)


class PreProcess(nn.Module):
    """netPre: trunk (`model.*`, ending in ReLU on a full-resolution ngf-channel map) then NRN (`mlp.*`).

    forward: x (Tensor[N, 3, H, W], RGB in [-1, 1], H and W multiples of 4, >= 8) -> pre_A Tensor[N, 3, H, W].
    """

    def __init__(self, ngf: int = 64, blocks: int = 9, hidden: int = 256):
        super().__init__()
        self.model = nn.Sequential(*trunk_layers(3, ngf, blocks))
        self.mlp = NRN(ngf, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.model(x))
