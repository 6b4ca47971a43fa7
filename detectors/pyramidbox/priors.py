"""PyramidBox anchors ("priors") and the box coding that relates them to boxes.

Dimensions: P priors of one image, level by level (strides 4 ... 128), row-major over each map.

One square anchor per feature-map cell: size 16, 32, 64, 128, 256, 512 px at strides 4, 8, 16, 32, 64,
128, centre ((x + 0.5) * stride, (y + 0.5) * stride), computed from the actual feature-map sizes, stored
normalised by the input width/height, never clipped (as the public implementation does).
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch

STRIDES = (4, 8, 16, 32, 64, 128)
ANCHOR_SIZES = (16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
VARIANCES = (0.1, 0.2)


def prior_boxes(feature_sizes: Sequence[Tuple[int, int]], height: int, width: int,
                device: "str | torch.device" = "cpu") -> torch.Tensor:
    """Anchors for a network input of `height` x `width` pixels.

    Args:
        feature_sizes: (rows, cols) of the six prediction maps, finest first.
        height, width: network input size in pixels.

    Returns:
        Tensor[P, 4] float32, P = sum(rows * cols): (cx, cy, w, h) normalised by (width, height).
    """
    per_level = []
    for (rows, cols), stride, size in zip(feature_sizes, STRIDES, ANCHOR_SIZES):
        cy, cx = torch.meshgrid((torch.arange(rows, device=device, dtype=torch.float32) + 0.5) * stride / height,
                                (torch.arange(cols, device=device, dtype=torch.float32) + 0.5) * stride / width,
                                indexing="ij")
        wh = torch.tensor([size / width, size / height], device=device).expand(rows * cols, 2)
        per_level.append(torch.cat((cx.reshape(-1, 1), cy.reshape(-1, 1), wh), 1))
    return torch.cat(per_level)


def point_form(priors: torch.Tensor) -> torch.Tensor:
    """(cx, cy, w, h) -> (x1, y1, x2, y2), same units. Tensor[..., 4] -> Tensor[..., 4]."""
    return torch.cat((priors[..., :2] - priors[..., 2:] / 2, priors[..., :2] + priors[..., 2:] / 2), -1)


def decode(loc: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    """Network offsets to boxes.

    Args:
        loc (Tensor[..., P, 4]): (dx, dy, dw, dh).
        priors (Tensor[P, 4]): (cx, cy, w, h), normalised.

    Returns:
        Tensor[..., P, 4]: (x1, y1, x2, y2), normalised like the priors.
    """
    centre = priors[:, :2] + loc[..., :2] * VARIANCES[0] * priors[:, 2:]
    size = priors[:, 2:] * torch.exp(loc[..., 2:] * VARIANCES[1])
    return torch.cat((centre - size / 2, centre + size / 2), -1)


def encode(boxes: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    """Inverse of `decode`: boxes (Tensor[P, 4], x1y1x2y2) matched to priors (Tensor[P, 4]) -> offsets [P, 4]."""
    centre = ((boxes[:, :2] + boxes[:, 2:]) / 2 - priors[:, :2]) / (VARIANCES[0] * priors[:, 2:])
    size = torch.log((boxes[:, 2:] - boxes[:, :2]) / priors[:, 2:]) / VARIANCES[1]
    return torch.cat((centre, size), 1)
