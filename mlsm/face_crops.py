"""Mosaic crops: an n x n grid (n uniform in 1..3) of whole photos shrunk into one square crop, optionally
with the photos' face boxes carried into crop pixels.

In a 256 px crop of an AFW photo scaled to 0.5-1x of 640 px the median face is 34-64 px; in a 2x2 or 3x3
mosaic it is 17 or 11 px, as small as DARK FACE's faces (mostly 10-30 px). MLSM uses mosaics of all
synthetic photos (`--mosaic`) and, for the opt-in face-box loss (`--face-boxes`), of labelled photos.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

# A face cut by a cell edge is kept when at least this share of its area stays inside the cell.
MIN_VISIBLE = 0.5


def mosaic(rng: np.random.Generator, photos: Sequence[np.ndarray], size: int,
           boxes: Optional[Sequence[np.ndarray]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """A mosaic of random `photos` (uint8 RGB [H, W, 3]) and the faces in it.

    Each cell holds a random square of side min(H, W) of a photo, flipped at random and shrunk
    (INTER_AREA) into the cell. Draws from `rng` in a fixed order (n, then per cell: photo, top, left, flip).

    Args:
        boxes: per photo ndarray[N_i, 4] (x1, y1, x2, y2) in its pixels, or None for no boxes.

    Returns:
        (uint8 RGB [size, size, 3], float64 [K, 4] boxes in crop pixels; K = 0 without `boxes`). A face is
        kept when at least `MIN_VISIBLE` of its area lies inside its square; it is clipped to the square.
    """
    n = int(rng.integers(1, 4))
    edges = np.linspace(0, size, n + 1).round().astype(int)
    canvas = np.empty((size, size, 3), np.uint8)
    kept = [np.zeros((0, 4))]
    for row in range(n):
        for col in range(n):
            index = int(rng.integers(len(photos)))
            photo = photos[index]
            h, w = photo.shape[:2]
            side = min(h, w)
            top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            square = photo[top:top + side, left:left + side]
            flip = bool(rng.integers(0, 2))
            if flip:
                square = square[:, ::-1]
            cell = (edges[col + 1] - edges[col], edges[row + 1] - edges[row])
            canvas[edges[row]:edges[row + 1], edges[col]:edges[col + 1]] = cv2.resize(
                np.ascontiguousarray(square), cell, interpolation=cv2.INTER_AREA)
            if boxes is not None:
                faces = _faces_in_square(boxes[index], left, top, side, flip)
                kept.append(faces * (np.array(cell * 2) / side) + np.array([edges[col], edges[row]] * 2))
    return canvas, np.concatenate(kept)


def _faces_in_square(boxes: np.ndarray, left: int, top: int, side: int, flip: bool) -> np.ndarray:
    """Boxes (x1, y1, x2, y2) of a photo -> those visible in its square at (left, top), in square pixels."""
    shifted = np.asarray(boxes, np.float64).reshape(-1, 4) - np.array([left, top, left, top])
    if flip:
        shifted = np.stack([side - shifted[:, 2], shifted[:, 1], side - shifted[:, 0], shifted[:, 3]], 1)
    clipped = shifted.clip(0, side)
    area = (shifted[:, 2] - shifted[:, 0]) * (shifted[:, 3] - shifted[:, 1])
    visible = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    return clipped[visible >= MIN_VISIBLE * area]
