"""COCO-style AP with pycocotools, built in memory, for one "face" category.

Dimensions: T = IoU thresholds, R = 101 recall thresholds (0, 0.01, ..., 1), A = size bins ("all"
first, see `facebench.metrics.size_bins`).

Settings (specs/darkface_eval/README.md, last section): `COCOeval(iouType="bbox")`, iouThrs = the
requested IoUs (default 0.3, 0.5, 0.7), maxDets = [max(1000, most detections in one image)] (the
default 100 silently drops detections in crowded images), areaRng "all" plus the size bins, boxes
converted from (x1, y1, x2, y2) to (x, y, w = x2 - x1, h = y2 - y1). Nothing is written to disk and
pycocotools' prints are silenced.

Differences from the official DARK FACE AP (`facebench.metrics.official`): raw scores only rank (no
normalisation); IoU without the +1 pixel (lower IoU for tiny faces); one-to-one matching in score
order, each detection taking the best still-unmatched face (the official tool only looks at the best
face); the curve has a point per detection; AP = mean of the precision envelope at 101 recall values
instead of the all-point area.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from facebench.metrics.inputs import check_inputs
from facebench.metrics.size_bins import DEFAULT_SIZE_EDGES, area_ranges

DEFAULT_IOUS = (0.3, 0.5, 0.7)
MIN_MAX_DETS = 1000
CATEGORY_ID = 1


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


def _coco(image_count: int, annotations: list) -> COCO:
    coco = COCO()
    coco.dataset = {
        "images": [{"id": k + 1} for k in range(image_count)],
        "categories": [{"id": CATEGORY_ID, "name": "face"}],
        "annotations": annotations,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _annotations(boxes_per_image: Sequence[np.ndarray], with_score: bool) -> list:
    """COCO annotation dicts (ids 1.. in image order), boxes converted to x, y, w, h."""
    anns = []
    for k, boxes in enumerate(boxes_per_image):
        for row in boxes.tolist():
            w, h = row[2] - row[0], row[3] - row[1]
            ann = {"id": len(anns) + 1, "image_id": k + 1, "category_id": CATEGORY_ID,
                   "bbox": [row[0], row[1], w, h], "area": w * h, "iscrowd": 0}
            if with_score:
                ann["score"] = row[4]
            anns.append(ann)
    return anns


def run_cocoeval(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray],
                 iou_thresholds: Sequence[float] = DEFAULT_IOUS,
                 size_edges: Sequence[float] = DEFAULT_SIZE_EDGES,
                 max_dets: Optional[int] = None) -> COCOeval:
    """Runs pycocotools' evaluate() and accumulate() silently; image k of `gts` has COCO id k + 1.

    Args:
        gts: image id -> float64 [M, 4] ground truth (x1, y1, x2, y2) in pixels (the image set).
        dets: image id -> float64 [N, 5] (x1, y1, x2, y2, score); a missing id = no detections.
        iou_thresholds: the T IoU thresholds.
        size_edges: sqrt(area) edges of the size bins in pixels; () gives only "all".
        max_dets: detections kept per image; default max(1000, most detections in one image).

    Returns:
        the evaluated COCOeval (`evalImgs` holds the per-image matches, `eval` the accumulated arrays).
    """
    ids, gts, dets = check_inputs(gts, dets)
    most = max((len(d) for d in dets.values()), default=0)
    labels, ranges = area_ranges(size_edges)
    coco_gt = _coco(len(ids), _annotations([gts[i] for i in ids], with_score=False))
    coco_dt = _coco(len(ids), _annotations([dets[i] for i in ids], with_score=True))
    evaluator = COCOeval(coco_gt, coco_dt, iouType="bbox")
    params = evaluator.params
    params.imgIds = list(range(1, len(ids) + 1))
    params.catIds = [CATEGORY_ID]
    params.iouThrs = np.array([float(t) for t in iou_thresholds])
    params.maxDets = [int(max_dets) if max_dets is not None else max(MIN_MAX_DETS, most)]
    params.areaRng = ranges
    params.areaRngLbl = labels
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator


def coco_result(evaluator: COCOeval) -> CocoResult:
    """Reads AP and precision out of an accumulated single-category COCOeval."""
    params = evaluator.params
    precision = evaluator.eval["precision"][:, :, 0, :, -1].transpose(2, 0, 1).astype(np.float64)  # [A, T, R]
    precision[precision < 0] = np.nan
    ap = precision.mean(axis=-1)  # a row is all NaN (no ground truth in the bin) or has none
    return CocoResult([float(t) for t in params.iouThrs], list(params.areaRngLbl), ap, precision,
                      np.asarray(params.recThrs, dtype=np.float64), int(params.maxDets[-1]))


def coco_ap(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray],
            iou_thresholds: Sequence[float] = DEFAULT_IOUS, size_edges: Sequence[float] = DEFAULT_SIZE_EDGES,
            max_dets: Optional[int] = None) -> CocoResult:
    """COCO AP per size bin and IoU threshold (arguments as in `run_cocoeval`)."""
    return coco_result(run_cocoeval(gts, dets, iou_thresholds, size_edges, max_dets))
