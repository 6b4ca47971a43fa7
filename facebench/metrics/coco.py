"""COCO-style AP (pycocotools' definition) for one "face" category, computed by facebench's own engine.

Dimensions: T = IoU thresholds, R = 101 recall thresholds (0, 0.01, ..., 1), A = size bins ("all"
first, see `facebench.metrics.size_bins`).

Settings (specs/darkface_eval/README.md, last section): `COCOeval(iouType="bbox")`, iouThrs = the
requested IoUs (default 0.3, 0.5, 0.7), maxDets = [max(1000, most detections in one image)] (the
default 100 silently drops detections in crowded images), areaRng "all" plus the size bins, boxes
converted from (x1, y1, x2, y2) to (x, y, w = x2 - x1, h = y2 - y1), area = w * h.

The numbers are pycocotools' own: `facebench.metrics.coco_match` re-does its per-image matching and
`facebench.metrics.coco_accumulate` its accumulate(), vectorised, and the tests check every precision
value against pycocotools itself (`facebench.metrics.coco_reference`) to the last bit.
An inverted or zero-area detection (w <= 0 or h <= 0) overlaps nothing (pycocotools' IoU is 0) and is
given area 0, so it is a false positive of the smallest size bin and of "all" (pycocotools' own loadRes
would give it the signed area w * h, which can be negative and hide it from every bin).

Differences from the official DARK FACE AP (`facebench.metrics.official`): raw scores only rank (no
normalisation); IoU without the +1 pixel (lower IoU for tiny faces); one-to-one matching in score
order, each detection taking the best still-unmatched face (the official tool only looks at the best
face); the curve has a point per detection; AP = mean of the precision envelope at 101 recall values
instead of the all-point area.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence

import numpy as np

from facebench.metrics.coco_accumulate import CocoMatches, weighted_precision
from facebench.metrics.coco_match import match_coco
from facebench.metrics.inputs import PackedBoxes, pack
from facebench.metrics.size_bins import DEFAULT_SIZE_EDGES, area_ranges

DEFAULT_IOUS = (0.3, 0.5, 0.7)
MIN_MAX_DETS = 1000
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)  # float64 [R], pycocotools' recThrs


@dataclass
class CocoResult:
    """COCO AP per size bin and IoU, with the interpolated precision it averages.

    Attributes:
        iou_thresholds: the T IoU thresholds.
        area_labels: the A size-bin labels, "all" first.
        ap: float64 [A, T], mean of `precision` over R; NaN where the bin has no ground truth.
        precision: float64 [A, T, R], interpolated precision at `recall_thresholds`; NaN where no
            ground truth (pycocotools' -1).
        recall_thresholds: float64 [R], 0..1 in 101 steps.
        max_dets: the maxDets used (per image).
    """

    iou_thresholds: List[float]
    area_labels: List[str]
    ap: np.ndarray
    precision: np.ndarray
    recall_thresholds: np.ndarray
    max_dets: int


@dataclass
class CocoMatchSet:
    """One detection set matched for every size bin (what the AP and every bootstrap resample use).

    Attributes:
        iou_thresholds: the T IoU thresholds.
        area_labels: the A size-bin labels, "all" first.
        matches: A pooled matches, one per size bin.
        max_dets: the maxDets used (per image).
    """

    iou_thresholds: List[float]
    area_labels: List[str]
    matches: List[CocoMatches]
    max_dets: int


def resolve_max_dets(packed: PackedBoxes, max_dets: Optional[int]) -> int:
    """`max_dets`, or by default max(1000, most detections in one image)."""
    if max_dets is not None:
        return int(max_dets)
    return max(MIN_MAX_DETS, int(np.diff(packed.det_start).max(initial=0)))


def match_packed(packed: PackedBoxes, iou_thresholds: Sequence[float] = DEFAULT_IOUS,
                 size_edges: Sequence[float] = DEFAULT_SIZE_EDGES, max_dets: Optional[int] = None) -> CocoMatchSet:
    """Matches a packed set for every size bin (arguments as in `coco_ap`)."""
    labels, ranges = area_ranges(size_edges)
    max_dets = resolve_max_dets(packed, max_dets)
    ious = [float(t) for t in iou_thresholds]
    return CocoMatchSet(ious, labels, match_coco(packed, ious, ranges, max_dets), max_dets)


def coco_result(matched: CocoMatchSet) -> CocoResult:
    """AP and precision of the data set itself (all image weights 1)."""
    n_images = len(matched.matches[0].gt_count)
    precision = np.stack([weighted_precision(m, np.ones((1, n_images)), RECALL_THRESHOLDS)[0]
                          for m in matched.matches])  # [A, T, R]
    ap = precision.mean(axis=-1)  # a row is all NaN (no ground truth in the bin) or has none
    return CocoResult(list(matched.iou_thresholds), list(matched.area_labels), ap, precision,
                      RECALL_THRESHOLDS.copy(), matched.max_dets)


def coco_ap(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray],
            iou_thresholds: Sequence[float] = DEFAULT_IOUS, size_edges: Sequence[float] = DEFAULT_SIZE_EDGES,
            max_dets: Optional[int] = None) -> CocoResult:
    """COCO AP per size bin and IoU threshold.

    Args:
        gts: image id -> float64 [M, 4] ground truth (x1, y1, x2, y2) in pixels (the image set).
        dets: image id -> float64 [N, 5] (x1, y1, x2, y2, score); a missing id = no detections.
        iou_thresholds: the T IoU thresholds.
        size_edges: sqrt(area) edges of the size bins in pixels; () gives only "all".
        max_dets: detections kept per image; default max(1000, most detections in one image).
    """
    return coco_result(match_packed(pack(gts, dets), iou_thresholds, size_edges, max_dets))
