"""The reference: pycocotools' COCOeval itself, built in memory for one "face" category.

facebench computes COCO AP with its own vectorised engine (`facebench.metrics.coco`); this module runs
pycocotools on the same input so tests and benchmarks can check that engine against it, value for
value. Nothing is written to disk and pycocotools' prints are silenced. Boxes are converted as the
engine does: (x, y, w = x2 - x1, h = y2 - y1), area w * h (0 for an inverted detection); ignore regions
become `iscrowd` annotations.
"""
from __future__ import annotations

import contextlib
import io
from typing import Mapping, Optional, Sequence

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from facebench.metrics.coco import DEFAULT_IOUS, resolve_max_dets
from facebench.metrics.coco_accumulate import CocoMatches
from facebench.metrics.coco_match import coco_area, coco_xywh
from facebench.metrics.inputs import pack
from facebench.metrics.size_bins import DEFAULT_SIZE_EDGES, area_ranges

CATEGORY_ID = 1


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


def _annotations(boxes: np.ndarray, image: np.ndarray, with_score: bool, crowd: Optional[np.ndarray] = None) -> list:
    """COCO annotation dicts (ids 1.. in the given order) from float64 [N, 4 or 5] rows and their image;
    `crowd` (bool [N]) marks ignore regions as iscrowd."""
    xywh = coco_xywh(boxes)
    area = coco_area(xywh)
    crowd = np.zeros(len(boxes), bool) if crowd is None else crowd
    anns = []
    for n, (row, k, a, c) in enumerate(zip(xywh.tolist(), image.tolist(), area.tolist(), crowd.tolist())):
        ann = {"id": n + 1, "image_id": k + 1, "category_id": CATEGORY_ID, "bbox": row, "area": a, "iscrowd": int(c)}
        if with_score:
            ann["score"] = float(boxes[n, 4])
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
    packed = pack(gts, dets)
    labels, ranges = area_ranges(size_edges)
    n_images = len(packed.image_ids)
    coco_gt = _coco(n_images, _annotations(packed.gt, packed.gt_image, with_score=False, crowd=packed.gt_ignore))
    coco_dt = _coco(n_images, _annotations(packed.det, packed.det_image, with_score=True))
    evaluator = COCOeval(coco_gt, coco_dt, iouType="bbox")
    params = evaluator.params
    params.imgIds = list(range(1, n_images + 1))
    params.catIds = [CATEGORY_ID]
    params.iouThrs = np.array([float(t) for t in iou_thresholds])
    params.maxDets = [resolve_max_dets(packed, max_dets)]
    params.areaRng = ranges
    params.areaRngLbl = labels
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator


def reference_precision(evaluator: COCOeval) -> np.ndarray:
    """float64 [A, T, R] interpolated precision of an accumulated COCOeval, NaN where pycocotools has -1."""
    precision = evaluator.eval["precision"][:, :, 0, :, -1].transpose(2, 0, 1).astype(np.float64)
    precision[precision < 0] = np.nan
    return precision


def reference_matches(evaluator: COCOeval, area_index: int = 0) -> CocoMatches:
    """Pools `evaluator.evalImgs` (after evaluate()) for size bin `area_index` as accumulate() does."""
    params = evaluator.params
    n_images, n_ious, max_det = len(params.imgIds), len(params.iouThrs), params.maxDets[-1]
    per_image = evaluator.evalImgs[area_index * n_images:(area_index + 1) * n_images]
    gt_count = np.zeros(n_images, dtype=np.int64)
    scores, images, matched, ignored = [np.zeros(0)], [np.zeros(0, np.int64)], [], []
    for i, e in enumerate(per_image):
        if e is None:
            continue
        gt_count[i] = np.count_nonzero(e["gtIgnore"] == 0)
        scores.append(np.asarray(e["dtScores"][:max_det], dtype=np.float64))
        images.append(np.full(len(scores[-1]), i, dtype=np.int64))
        matched.append(e["dtMatches"][:, :max_det] != 0)
        ignored.append(e["dtIgnore"][:, :max_det].astype(bool))
    order = np.argsort(-np.concatenate(scores), kind="mergesort")
    matched = np.concatenate(matched, axis=1)[:, order] if matched else np.zeros((n_ious, 0), bool)
    ignored = np.concatenate(ignored, axis=1)[:, order] if ignored else np.zeros((n_ious, 0), bool)
    return CocoMatches(np.concatenate(images)[order], matched & ~ignored, ~matched & ~ignored, gt_count)
