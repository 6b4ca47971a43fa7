"""PyramidBox anchors ("priors").

Dimensions: P priors of one image, level by level (strides 4 ... 128), row-major over each map.

One square anchor per feature-map cell: size 16, 32, 64, 128, 256, 512 px at strides 4, 8, 16, 32, 64,
128, centre ((x + 0.5) * stride, (y + 0.5) * stride), computed from the actual feature-map sizes, stored
normalised by the input width/height, never clipped (as the public implementation does). Box coding
(variances 0.1, 0.2) is `facebench.detectors.toolkit.decode` / `encode`.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch

from facebench.detectors.toolkit import anchor_grid

STRIDES = (4, 8, 16, 32, 64, 128)
ANCHOR_SIZES = (16.0, 32.0, 64.0, 128.0, 256.0, 512.0)


def prior_boxes(feature_sizes: Sequence[Tuple[int, int]], height: int, width: int,
                device: "str | torch.device" = "cpu") -> torch.Tensor:
    """Anchors for a network input of `height` x `width` pixels.

    Args:
        feature_sizes: (rows, cols) of the six prediction maps, finest first.
        height, width: network input size in pixels.

    Returns:
        Tensor[P, 4] float32, P = sum(rows * cols): (cx, cy, w, h) normalised by (width, height).
    """
    pixels = anchor_grid(feature_sizes, STRIDES, [(s,) for s in ANCHOR_SIZES], device)
    return pixels / torch.tensor([width, height, width, height], device=device, dtype=torch.float32)
