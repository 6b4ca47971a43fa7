"""pycocotools' per-image matching (`COCOeval.evaluateImg`) re-done in numpy for all images at once.

Dimensions: I = images, D = kept detections (at most maxDets per image), P = (detection, face) pairs
of the same image, L = size bins x IoU thresholds (bin-major), M = faces of an image, padded.

What pycocotools does per image, size bin and IoU threshold t, and what is reproduced exactly:
- detections sorted by descending score (stable), the first maxDets kept; IoU = intersection / union
  of (x, y, w, h) boxes with w = x2 - x1, computed in the same order of operations as its C code (a
  detection with w <= 0 or h <= 0 overlaps nothing);
- faces outside the bin's area range, and ignore regions (pycocotools' iscrowd: IoU = intersection /
  detection area, and never used up by a match), are "ignored"; in score order each detection takes, among the
  faces not taken yet at this threshold with IoU >= t, the one with the highest IoU (the last such face
  on ties), preferring any non-ignored face over an ignored one; a detection on an ignored face is
  ignored, an unmatched detection whose own area is outside the range is ignored, every other unmatched
  detection is a false positive.

Images are independent, so the matching runs as a loop over "the s-th candidate detection of every
image" (a candidate overlaps some face with IoU >= the lowest threshold; the others can never match and
change nothing), vectorised over images, bins and thresholds. Images are grouped by face count rounded
up to a power of two, so the padded face axis wastes at most half of its width.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from facebench.metrics.box_pairs import same_image_pairs
from facebench.metrics.coco_accumulate import CocoMatches
from facebench.metrics.inputs import PackedBoxes


def coco_xywh(boxes: np.ndarray) -> np.ndarray:
    """float64 [N, 4+] (x1, y1, x2, y2, ...) -> float64 [N, 4] COCO (x, y, w, h), w = x2 - x1 (may be <= 0)."""
    return np.stack([boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1)


def coco_area(xywh: np.ndarray) -> np.ndarray:
    """float64 [N] area w * h of (x, y, w, h) boxes; 0 for an inverted box (w < 0 or h < 0)."""
    return np.maximum(xywh[:, 2], 0) * np.maximum(xywh[:, 3], 0)


def _pair_iou(det: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """pycocotools' bbox IoU (maskApi.c `bbIou`), same order of operations.

    Args:
        det, gt: float64 [4, P] coordinate-first (x, y, w, h) of aligned pairs.
        crowd: bool [P], the face is a crowd region (an ignore region): intersection / detection area.
    """
    w = np.minimum(det[2] + det[0], gt[2] + gt[0]) - np.maximum(det[0], gt[0])
    h = np.minimum(det[3] + det[1], gt[3] + gt[1]) - np.maximum(det[1], gt[1])
    inter = w * h
    det_area = det[2] * det[3]
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / np.where(crowd, det_area, det_area + gt[2] * gt[3] - inter)
    iou[(w <= 0) | (h <= 0)] = 0.0
    return iou


def _kept_detections(packed: PackedBoxes, max_dets: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rows of `packed.det` per image by descending score (stable), at most max_dets each; their image."""
    det_image = packed.det_image
    order = np.lexsort((-packed.det[:, 4], det_image))
    rank = np.arange(len(order)) - packed.det_start[det_image[order]]
    order = order[rank < max_dets]
    return order, det_image[order]


def _candidate_layout(cand_image: np.ndarray, faces: np.ndarray) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """Groups candidates (image-major, score order within an image) for the step loop.

    Args:
        cand_image: int64 [c], image of each candidate.
        faces: int64 [I], ground-truth rows per image (ignore regions included).

    Returns per group (images whose row count rounds up to the same power of two, `width` rows):
    (images int64 [n] by descending candidate count, rows int64 [c] = the group's candidates in step-major
    order (index into cand_image), step_start int64 [S + 1] offsets of each step in rows, width).
    """
    n_cand = np.bincount(cand_image, minlength=len(faces))
    first = np.concatenate([[0], np.cumsum(n_cand)])[:-1]
    step = np.arange(len(cand_image)) - first[cand_image]
    width = np.where(faces > 0, 2 ** np.ceil(np.log2(np.maximum(faces, 1))).astype(np.int64), 0)
    groups = []
    for w in np.unique(width[(n_cand > 0)]):
        images = np.flatnonzero((width == w) & (n_cand > 0))
        images = images[np.argsort(-n_cand[images], kind="stable")]
        slot = np.full(len(faces), -1)
        slot[images] = np.arange(len(images))
        mine = np.flatnonzero(slot[cand_image] >= 0)
        rows = mine[np.lexsort((slot[cand_image[mine]], step[mine]))]
        step_start = np.concatenate([[0], np.cumsum(np.bincount(step[rows], minlength=n_cand[images[0]]))])
        groups.append((images, rows, step_start, int(w)))
    return groups


def _last_best(values: np.ndarray, allowed: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Over the last axis of [..., M]: whether any entry is allowed, and the last allowed max position."""
    masked = np.where(allowed, values, -1.0)
    width = values.shape[-1]
    return allowed.any(axis=-1), width - 1 - np.argmax(masked[..., ::-1], axis=-1)


def _match_group(iou_rows: np.ndarray, step_start: np.ndarray, ignored: np.ndarray, thresholds: np.ndarray,
                 crowd: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The greedy matching of one group, one step (s-th candidate of every image) at a time.

    Args:
        iou_rows: float64 [c, M], IoU of each candidate (step-major) with its image's faces; padding -1.
        step_start: int64 [S + 1], offsets of the steps in iou_rows; step s covers the first n_s images.
        ignored: bool [L, n, M], face ignored in the bin of each of the L (bin, threshold) pairs.
        thresholds: float64 [L], the IoU threshold of each pair.
        crowd: bool [n, M], crowd faces (ignore regions): never taken, so they absorb any number of detections.

    Returns:
        matched bool [c, L], and on_ignored bool [c, L] (matched to an ignored face).
    """
    taken = np.zeros(ignored.shape, dtype=bool)
    matched = np.zeros((len(iou_rows), len(thresholds)), dtype=bool)
    on_ignored = np.zeros_like(matched)
    for s in range(len(step_start) - 1):
        lo, hi = step_start[s], step_start[s + 1]
        rows = iou_rows[lo:hi]  # [n_s, M]
        free = (rows[None] >= thresholds[:, None, None]) & ~taken[:, :hi - lo]
        ign = ignored[:, :hi - lo]
        has_kept, best_kept = _last_best(rows[None], free & ~ign)
        has_ign, best_ign = _last_best(rows[None], free & ign)
        got = has_kept | has_ign
        face = np.where(has_kept, best_kept, best_ign)
        pair, image = np.nonzero(got)
        single = ~crowd[image, face[pair, image]]
        taken[pair[single], image[single], face[pair[single], image[single]]] = True
        matched[lo:hi] = got.T
        on_ignored[lo:hi] = (got & ~has_kept).T
    return matched, on_ignored


def match_coco(packed: PackedBoxes, iou_thresholds: Sequence[float], area_ranges: Sequence[Sequence[float]],
               max_dets: int) -> List[CocoMatches]:
    """What pycocotools' evaluate() + accumulate() pool, for every size bin, without pycocotools.

    Args:
        packed: the validated image set.
        iou_thresholds: the T IoU thresholds.
        area_ranges: A [lo, hi] area ranges in square pixels (inclusive), as pycocotools' `areaRng`.
        max_dets: detections kept per image (highest scores).

    Returns:
        A CocoMatches, one per area range, in accumulate()'s pooled score order.
    """
    thresholds = np.array([min(float(t), 1 - 1e-10) for t in iou_thresholds])
    ranges = np.asarray(area_ranges, dtype=np.float64).reshape(-1, 2)
    n_bins, n_thr = len(ranges), len(thresholds)
    kept, kept_image = _kept_detections(packed, max_dets)
    det_xywh = coco_xywh(packed.det[kept])
    gt_xywh = coco_xywh(packed.gt)
    gt_area = gt_xywh[:, 2] * gt_xywh[:, 3]
    gt_out = (gt_area[None] < ranges[:, :1]) | (gt_area[None] > ranges[:, 1:]) | packed.gt_ignore[None]  # [A, G]

    pair_det, pair_gt, pair_start = same_image_pairs(kept_image, packed.gt_start)
    iou = _pair_iou(det_xywh.T[:, pair_det], gt_xywh.T[:, pair_gt], packed.gt_ignore[pair_gt])
    best = np.zeros(len(kept))
    has_faces = np.diff(pair_start) > 0
    best[has_faces] = np.maximum.reduceat(iou, pair_start[:-1][has_faces]) if has_faces.any() else 0.0
    cand = np.flatnonzero(best >= thresholds.min())  # image-major, score order within an image

    matched = np.zeros((len(kept), n_bins * n_thr), dtype=bool)
    on_ignored = np.zeros_like(matched)
    pair_thr = np.tile(thresholds, n_bins)  # [L], bin-major
    for images, rows, step_start, width in _candidate_layout(kept_image[cand], np.diff(packed.gt_start)):
        dets = cand[rows]
        slot = np.arange(width)[None]
        n_faces = (pair_start[dets + 1] - pair_start[dets])[:, None]  # >= 1 for a candidate
        iou_rows = np.where(slot < n_faces, iou[pair_start[dets][:, None] + np.minimum(slot, n_faces - 1)], -1.0)
        face = np.minimum(packed.gt_start[images][:, None] + slot, len(packed.gt) - 1)  # [n, M]; padding: any
        ignored = np.repeat(gt_out[:, face], n_thr, axis=0)  # [L, n, M]
        matched[dets], on_ignored[dets] = _match_group(iou_rows, step_start, ignored, pair_thr,
                                                       packed.gt_ignore[face])

    det_area = coco_area(det_xywh)
    pooled = np.argsort(-packed.det[kept, 4], kind="mergesort")  # image-major input: ties keep image order
    results = []
    for a, (lo, hi) in enumerate(ranges):
        columns = slice(a * n_thr, (a + 1) * n_thr)
        hit = matched[pooled, columns].T  # [T, D]
        outside = ((det_area < lo) | (det_area > hi))[pooled]
        true_positive = hit & ~on_ignored[pooled, columns].T
        false_positive = ~hit & ~outside[None]
        gt_count = np.bincount(packed.gt_image[~gt_out[a]], minlength=len(packed.image_ids))
        results.append(CocoMatches(kept_image[pooled], true_positive, false_positive, gt_count))
    return results
