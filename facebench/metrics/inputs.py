"""Checks and packs the two inputs every metric takes, so each metric can trust them.

    gts:  dict[str image_id -> np.ndarray float64 [M, 4]]  ground truth (x1, y1, x2, y2) in pixels; M may be 0
    dets: dict[str image_id -> np.ndarray float64 [N, 5]]  (x1, y1, x2, y2, score); a missing id = no detections

The image set is the keys of `gts` (the dataset). A detection for an image that is not in `gts` is an
error, never silently dropped. Ground truth must have x2 >= x1 and y2 >= y1. Detections may be inverted
or zero-area (x2 <= x1 or y2 <= y1): the official tool scores them (they overlap nothing, or less than
their +1-pixel extent suggests), so the metrics do too; NaN and infinite values are errors.

`pack` concatenates every image's boxes once (dimensions: I = images, G = faces, D = detections), so
the metrics work on flat arrays instead of looping over images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Mapping

import numpy as np


@dataclass
class PackedBoxes:
    """Ground truth and detections of all images, concatenated in image order.

    Attributes:
        image_ids: the I image ids (str), in the order of `gts`.
        gt: float64 [G, 4] (x1, y1, x2, y2) in pixels; image i's faces are gt[gt_start[i]:gt_start[i + 1]],
            in their given order.
        gt_start: int64 [I + 1], offsets into `gt`.
        det: float64 [D, 5] (x1, y1, x2, y2, score); image i's rows are det[det_start[i]:det_start[i + 1]],
            in their given order.
        det_start: int64 [I + 1], offsets into `det`.
    """

    image_ids: List[str]
    gt: np.ndarray
    gt_start: np.ndarray
    det: np.ndarray
    det_start: np.ndarray

    @property
    def faces(self) -> np.ndarray:
        """int64 [I], faces per image."""
        return np.diff(self.gt_start)

    @property
    def gt_image(self) -> np.ndarray:
        """int64 [G], the image of each face."""
        return np.repeat(np.arange(len(self.image_ids)), self.faces)

    @property
    def det_image(self) -> np.ndarray:
        """int64 [D], the image of each detection."""
        return np.repeat(np.arange(len(self.image_ids)), np.diff(self.det_start))


def as_boxes(value: Any, columns: int, what: str) -> np.ndarray:
    """Converts one image's boxes to float64 [N, columns] and checks them.

    Args:
        value: array-like (numpy, list, CPU or CUDA torch tensor) of shape [N, columns]; N may be 0
            (shape [0] is accepted as an empty set).
        columns: 4 for ground truth (x1, y1, x2, y2), 5 for detections (x1, y1, x2, y2, score).
        what: names the boxes in error messages, e.g. "detections of image '12'".

    Returns:
        np.ndarray float64 [N, columns], finite; ground truth (columns == 4) also has x2 >= x1, y2 >= y1.

    Raises:
        ValueError: wrong shape, non-finite values or inverted ground truth (one line naming `what`).
    """
    arr = _as_array(value, columns, what)
    _check(arr, columns, lambda row: f"{what}, box {row}")
    return arr


def _as_array(value: Any, columns: int, what: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, columns))
    if arr.ndim != 2 or arr.shape[1] != columns:
        raise ValueError(f"{what}: expected an array of shape [N, {columns}], got {arr.shape}")
    return arr


def _check(arr: np.ndarray, columns: int, describe: Callable[[int], str]) -> None:
    """Raises for the first non-finite row or (ground truth) the first inverted box; describe(row) names it."""
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        raise ValueError(f"{describe(int(np.argmin(finite)))}: contains NaN or infinite values")
    if columns == 4:
        bad = np.flatnonzero((arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1]))
        if bad.size:
            row = int(bad[0])
            raise ValueError(f"{describe(row)}: x2 < x1 or y2 < y1: {arr[row, :4].tolist()}")


def _concat(per_image: List[np.ndarray], columns: int, kind: str, ids: List[str]) -> tuple:
    counts = np.array([len(a) for a in per_image], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(counts)])
    flat = np.concatenate(per_image) if per_image else np.zeros((0, columns))
    image = np.repeat(np.arange(len(ids)), counts)
    _check(flat, columns, lambda row: f"{kind} of image {ids[image[row]]!r}, box {row - start[image[row]]}")
    return flat, start


def pack(gts: Mapping[str, Any], dets: Mapping[str, Any]) -> PackedBoxes:
    """Validates a (gts, dets) pair and concatenates it.

    Raises:
        ValueError: a detection image missing from `gts`, or malformed boxes (one line naming the image).
    """
    gts = {str(key): value for key, value in gts.items()}
    dets = {str(key): value for key, value in dets.items()}
    extra = [key for key in dets if key not in gts]
    if extra:
        raise ValueError(f"detections for {len(extra)} image(s) without ground truth, e.g. {extra[0]!r}")
    ids = list(gts)
    gt, gt_start = _concat([_as_array(gts[i], 4, f"ground truth of image {i!r}") for i in ids], 4,
                           "ground truth", ids)
    det, det_start = _concat([_as_array(dets.get(i, ()), 5, f"detections of image {i!r}") for i in ids], 5,
                             "detections", ids)
    return PackedBoxes(ids, gt, gt_start, det, det_start)


def check_inputs(gts: Mapping[str, Any], dets: Mapping[str, Any]) -> tuple:
    """Validates a (gts, dets) pair.

    Returns:
        (image_ids, gts, dets): ids (as str) in the order of `gts`; gts as float64 [M, 4] per id; dets as
        float64 [N, 5] for every id (an empty [0, 5] array where `dets` had no entry).

    Raises:
        ValueError: a detection image missing from `gts`, or malformed boxes.
    """
    packed = pack(gts, dets)
    gt = {i: packed.gt[packed.gt_start[k]:packed.gt_start[k + 1]] for k, i in enumerate(packed.image_ids)}
    det = {i: packed.det[packed.det_start[k]:packed.det_start[k + 1]] for k, i in enumerate(packed.image_ids)}
    return packed.image_ids, gt, det
