"""Every (detection, face) pair of the same image as flat index arrays, so IoUs of all images are one
vectorised computation instead of a loop over images.

Dimensions: n = detections asked about, P = pairs (sum over them of their image's face count).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np


def same_image_pairs(det_image: np.ndarray, gt_start: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs each detection with every face of its image, the faces in their given order.

    Args:
        det_image: int64 [n], the image of each detection (any order).
        gt_start: int64 [I + 1], offsets of each image's faces in the flat face array.

    Returns:
        pair_det int64 [P] (index into the n detections), pair_gt int64 [P] (index into the faces), and
        pair_start int64 [n + 1]: detection j's pairs are pair_start[j]:pair_start[j + 1].
    """
    first_gt = gt_start[det_image]
    per_det = gt_start[det_image + 1] - first_gt
    pair_start = np.concatenate([[0], np.cumsum(per_det)]).astype(np.int64)
    pair_det = np.repeat(np.arange(len(det_image), dtype=np.int64), per_det)
    pair_gt = first_gt[pair_det] + np.arange(pair_start[-1], dtype=np.int64) - pair_start[pair_det]
    return pair_det, pair_gt, pair_start


def segment_best(values: np.ndarray, pair_det: np.ndarray, pair_start: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Max over each detection's pairs and the position of the first pair reaching it.

    Args:
        values: float64 [P], one value per pair (no NaN).
        pair_det, pair_start: as from `same_image_pairs`; every detection must have a pair.

    Returns:
        (best float64 [n], position int64 [n] into the P pairs).
    """
    starts = pair_start[:-1]
    if len(starts) == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    best = np.maximum.reduceat(values, starts)
    position = np.where(values == best[pair_det], np.arange(len(values), dtype=np.int64), len(values))
    return best, np.minimum.reduceat(position, starts)
