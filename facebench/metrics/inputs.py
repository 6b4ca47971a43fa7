"""Checks and normalises the two inputs every metric takes, so each metric can trust them.

    gts:  dict[str image_id -> np.ndarray float64 [M, 4]]  ground truth (x1, y1, x2, y2) in pixels; M may be 0
    dets: dict[str image_id -> np.ndarray float64 [N, 5]]  (x1, y1, x2, y2, score); a missing id = no detections

The image set is the keys of `gts` (the dataset). A detection for an image that is not in `gts` is an
error, never silently dropped.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

import numpy as np

Boxes = Dict[str, np.ndarray]


def as_boxes(value: Any, columns: int, what: str) -> np.ndarray:
    """Converts one image's boxes to float64 [N, columns] and checks them.

    Args:
        value: array-like (numpy, list, CPU or CUDA torch tensor) of shape [N, columns]; N may be 0
            (shape [0] is accepted as an empty set).
        columns: 4 for ground truth (x1, y1, x2, y2), 5 for detections (x1, y1, x2, y2, score).
        what: names the boxes in error messages, e.g. "detections of image '12'".

    Returns:
        np.ndarray float64 [N, columns], finite, with x2 >= x1 and y2 >= y1.

    Raises:
        ValueError: wrong shape, non-finite values or inverted boxes (one line naming `what`).
    """
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, columns))
    if arr.ndim != 2 or arr.shape[1] != columns:
        raise ValueError(f"{what}: expected an array of shape [N, {columns}], got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what}: contains NaN or infinite values")
    bad = np.nonzero((arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1]))[0]
    if bad.size:
        raise ValueError(f"{what}: box {bad[0]} has x2 < x1 or y2 < y1: {arr[bad[0], :4].tolist()}")
    return arr


def check_inputs(gts: Mapping[str, Any], dets: Mapping[str, Any]) -> tuple[List[str], Boxes, Boxes]:
    """Validates a (gts, dets) pair.

    Returns:
        (image_ids, gts, dets): ids (as str) in the order of `gts`; gts as float64 [M, 4] per id; dets as float64
        [N, 5] for every id (an empty [0, 5] array where `dets` had no entry).

    Raises:
        ValueError: a detection image missing from `gts`, or malformed boxes.
    """
    gts = {str(key): value for key, value in gts.items()}
    dets = {str(key): value for key, value in dets.items()}
    extra = [key for key in dets if key not in gts]
    if extra:
        raise ValueError(f"detections for {len(extra)} image(s) without ground truth, e.g. {extra[0]!r}")
    ids = list(gts)
    clean_gts = {i: as_boxes(gts[i], 4, f"ground truth of image {i!r}") for i in ids}
    clean_dets = {i: as_boxes(dets.get(i, ()), 5, f"detections of image {i!r}") for i in ids}
    return ids, clean_gts, clean_dets
