"""Checking label boxes and clipping them to the image they belong to.

boxes (ndarray[M, 4], float64): (x1, y1, x2, y2) in pixels; the image spans [0, width] x [0, height].
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from facebench.datasets.dataset import DatasetError
from facebench.datasets.images import image_size


def check_box(box: Sequence[float], where: str) -> None:
    """Raise DatasetError naming `where` ("file:line") unless `box` (x1, y1, x2, y2) is finite and x2 > x1, y2 > y1."""
    x1, y1, x2, y2 = box
    if not np.all(np.isfinite(box)):
        raise DatasetError(f"{where}: box {_fmt(box)} is not finite; expected numbers")
    if x2 <= x1 or y2 <= y1:
        axis = "x2 <= x1" if x2 <= x1 else "y2 <= y1"
        raise DatasetError(f"{where}: box {_fmt(box)} has {axis}; expected x1 < x2 and y1 < y2 "
                           "(a box with positive width and height)")


def clip_to_image(boxes: np.ndarray, image_path: Optional[Path], label_source: str) -> np.ndarray:
    """Boxes clipped to the image read from `image_path`'s header (unchanged when it is None).

    Boxes that reach outside the image are clipped; boxes entirely outside are dropped. Either
    gives one warning naming `label_source` and the image.

    Args:
        boxes (ndarray[M, 4], float64): (x1, y1, x2, y2) in pixels.
        image_path: the image the boxes belong to, or None (labels only: nothing to clip against).
        label_source: the label file (and line) the boxes came from, for the warning.

    Returns:
        ndarray[K, 4], float64, K <= M.
    """
    if image_path is None or len(boxes) == 0:
        return boxes
    width, height = image_size(image_path)
    clipped = boxes.copy()
    clipped[:, 0::2] = np.clip(boxes[:, 0::2], 0, width)
    clipped[:, 1::2] = np.clip(boxes[:, 1::2], 0, height)
    changed = np.any(clipped != boxes, axis=1)
    if not changed.any():
        return boxes
    keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    dropped = int((~keep).sum())
    warnings.warn(f"{label_source}: {int(changed.sum())} box(es) reach outside the {width}x{height} image "
                  f"{image_path.name}; clipped to the image ({dropped} entirely outside, dropped)", stacklevel=2)
    return clipped[keep]


def _fmt(box: Sequence[float]) -> str:
    return "(" + " ".join(f"{v:g}" for v in box) + ")"
