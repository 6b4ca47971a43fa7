"""Checks and packs the two inputs every metric takes, so each metric can trust them.

    gts:  dict[str image_id -> np.ndarray float64 [M, 4] or [M, 5]]  ground truth (x1, y1, x2, y2) in
          pixels, optionally with a fifth column: 1 = ignore region (e.g. a WIDER FACE invalid face),
          0 = face; M may be 0
    dets: dict[str image_id -> np.ndarray float64 [N, 5]]  (x1, y1, x2, y2, score); a missing id = no detections

The image set is the keys of `gts` (the dataset). A detection for an image that is not in `gts` is an
error, never silently dropped. Ground truth must have x2 >= x1 and y2 >= y1. Detections may be inverted
or zero-area (x2 <= x1 or y2 <= y1): the official tool scores them (they overlap nothing, or less than
their +1-pixel extent suggests), so the metrics do too; NaN and infinite values are errors.

Ignore regions are not faces: a detection that lands on one is neither a hit nor a false positive
(official protocol: as the WIDER FACE tool; COCO: as pycocotools' `iscrowd` regions).

`pack` concatenates every image's boxes once (dimensions: I = images, G = ground-truth rows including
ignore regions, D = detections), so the metrics work on flat arrays instead of looping over images.
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
        gt: float64 [G, 4] (x1, y1, x2, y2) in pixels; image i's rows are gt[gt_start[i]:gt_start[i + 1]],
            in their given order.
        gt_ignore: bool [G], True for an ignore region.
        gt_start: int64 [I + 1], offsets into `gt`.
        det: float64 [D, 5] (x1, y1, x2, y2, score); image i's rows are det[det_start[i]:det_start[i + 1]],
            in their given order.
        det_start: int64 [I + 1], offsets into `det`.
    """

    image_ids: List[str]
    gt: np.ndarray
    gt_ignore: np.ndarray
    gt_start: np.ndarray
    det: np.ndarray
    det_start: np.ndarray

    @property
    def gt_image(self) -> np.ndarray:
        """int64 [G], the image of each ground-truth row."""
        return np.repeat(np.arange(len(self.image_ids)), np.diff(self.gt_start))

    @property
    def det_image(self) -> np.ndarray:
        """int64 [D], the image of each detection."""
        return np.repeat(np.arange(len(self.image_ids)), np.diff(self.det_start))

    @property
    def faces(self) -> np.ndarray:
        """int64 [I], faces per image (ignore regions not counted)."""
        return np.bincount(self.gt_image[~self.gt_ignore], minlength=len(self.image_ids)).astype(np.int64)


def as_boxes(value: Any, columns: int, what: str) -> np.ndarray:
    """Converts one image's boxes to float64 and checks them.

    Args:
        value: array-like (numpy, list, CPU or CUDA torch tensor) of shape [N, columns]; N may be 0
            (shape [0] is accepted as an empty set).
        columns: 4 for ground truth (x1, y1, x2, y2; a fifth ignore-flag column is accepted too),
            5 for detections (x1, y1, x2, y2, score).
        what: names the boxes in error messages, e.g. "detections of image '12'".

    Returns:
        np.ndarray float64 [N, columns] (ground truth: [N, 4] or [N, 5] as given), finite; ground truth
        also has x2 >= x1, y2 >= y1 and flags in {0, 1}.

    Raises:
        ValueError: wrong shape, non-finite values, inverted ground truth or a bad flag (one line naming `what`).
    """
    arr = _as_array(value, columns, what)
    _check(arr, columns == 4, lambda row: f"{what}, box {row}")
    return arr


def _as_array(value: Any, columns: int, what: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, columns))
    allowed = (4, 5) if columns == 4 else (columns,)
    if arr.ndim != 2 or arr.shape[1] not in allowed:
        shapes = " or ".join(f"[N, {c}]" for c in allowed)
        raise ValueError(f"{what}: expected an array of shape {shapes}, got {arr.shape}")
    return arr


def _check(arr: np.ndarray, ground_truth: bool, describe: Callable[[int], str]) -> None:
    """Raises for the first non-finite row or (ground truth) the first inverted box or bad flag;
    describe(row) names the row."""
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        raise ValueError(f"{describe(int(np.argmin(finite)))}: contains NaN or infinite values")
    if ground_truth:
        bad = np.flatnonzero((arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1]))
        if bad.size:
            row = int(bad[0])
            raise ValueError(f"{describe(row)}: x2 < x1 or y2 < y1: {arr[row, :4].tolist()}")
        if arr.shape[1] == 5:
            bad = np.flatnonzero((arr[:, 4] != 0) & (arr[:, 4] != 1))
            if bad.size:
                raise ValueError(f"{describe(int(bad[0]))}: ignore flag {arr[bad[0], 4]:g}, expected 0 or 1")


def _concat(per_image: List[np.ndarray], ground_truth: bool, kind: str, ids: List[str]) -> tuple:
    """Checked concatenation of same-width arrays: float64 [total, columns] and offsets int64 [I + 1]."""
    counts = np.array([len(a) for a in per_image], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(counts)])
    flat = np.concatenate(per_image) if per_image else np.zeros((0, 5))
    image = np.repeat(np.arange(len(ids)), counts)
    _check(flat, ground_truth, lambda row: f"{kind} of image {ids[image[row]]!r}, box {row - start[image[row]]}")
    return flat, start


def _with_flag(gt: np.ndarray) -> np.ndarray:
    """Ground truth [M, 4] or [M, 5] -> [M, 5] (flag 0 = face where the column is absent)."""
    return gt if gt.shape[1] == 5 else np.hstack([gt, np.zeros((len(gt), 1))])


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
    gt, gt_start = _concat([_with_flag(_as_array(gts[i], 4, f"ground truth of image {i!r}")) for i in ids],
                           True, "ground truth", ids)
    det, det_start = _concat([_as_array(dets.get(i, ()), 5, f"detections of image {i!r}") for i in ids],
                             False, "detections", ids)
    return PackedBoxes(ids, gt[:, :4].copy(), gt[:, 4] == 1, gt_start, det, det_start)
