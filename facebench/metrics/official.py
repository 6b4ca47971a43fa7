"""The official DARK FACE AP (UG2+ eval tools, an Octave port of the WIDER FACE tool), in numpy.

Dimensions used here:
    I = images, T = 1000 score thresholds, K = IoU thresholds, B = bootstrap resamples.

The protocol (specs/darkface_eval/README.md), and how it differs from COCO (`facebench.metrics.coco`):

1. Scores are min-max normalised over the whole detection set: s' = (s - min) / (max - min); if
   max == min, s' = s - (min - 1) (= 1). COCO uses raw scores only to rank detections.
2. IoU uses the +1-pixel convention: width = x2 - x1 + 1 (a box from x=10 to x=10 is 1 pixel wide).
   COCO uses width = x2 - x1; for faces ~10 px wide this raises IoU noticeably.
3. Greedy recall marking, not one-to-one matching: per image, detections in descending score order
   each mark their best-IoU ground truth as recalled when IoU >= threshold; a face hit twice counts
   once. Precision = recalled faces / detections above the threshold. A detection whose best face is
   already recalled recalls nothing, even if a second face also overlaps it enough; COCO instead
   matches each detection to the best still-unmatched face (one-to-one), so in crowds a near-duplicate
   can recall a neighbour under COCO but not here.
4. The curve is sampled at 1000 normalised-score thresholds t = 1 - k/1000 (k = 1..1000), summing
   per-image counts. COCO uses every detection as a point of the curve.
5. AP is the VOC all-point area under the precision envelope (with points (0, 0) and (1, 0) added).
   COCO averages the envelope at 101 recall values 0, 0.01, ..., 1.
   A threshold with no detection above it has precision 0/0 = NaN: "no point" (the Octave tool lets
   the NaN pass through max()); it always has recall 0, so it never adds area.
Only IoU 0.5 exists in the official tool; 0.3 and 0.7 run the same procedure with another threshold.
Images without ground truth or without detections add nothing to the counts, but their faces count.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence

import numpy as np

from facebench.metrics.inputs import check_inputs

THRESHOLD_COUNT = 1000
SCORE_THRESHOLDS = 1 - np.arange(1, THRESHOLD_COUNT + 1) / THRESHOLD_COUNT  # float64 [T], 0.999 .. 0.0


@dataclass
class OfficialCounts:
    """Per-image counts of the official protocol (what every AP and every bootstrap resample sums).

    Attributes:
        image_ids: the I image ids, row order of the arrays.
        iou_thresholds: the K IoU thresholds.
        proposals: int32 [I, T], detections with normalised score >= SCORE_THRESHOLDS[t]
            (0 for images without ground truth).
        recalled: int32 [K, I, T], faces recalled by those detections at each IoU threshold.
        faces: int64 [I], ground-truth faces per image.
    """

    image_ids: List[str]
    iou_thresholds: List[float]
    proposals: np.ndarray
    recalled: np.ndarray
    faces: np.ndarray


@dataclass
class OfficialResult:
    """The official AP at one IoU threshold.

    Attributes:
        ap: VOC all-point AP in [0, 1] (NaN when there are no faces at all).
        precision: float64 [T], precision at SCORE_THRESHOLDS (NaN = no detection above it: no point).
        recall: float64 [T], recall at SCORE_THRESHOLDS, non-decreasing.
        score_thresholds: float64 [T], 0.999 down to 0.0 (normalised scores).
    """

    ap: float
    precision: np.ndarray
    recall: np.ndarray
    score_thresholds: np.ndarray


def normalise_scores(dets: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Min-max normalises scores over the whole set (step 1); boxes are copied unchanged.

    Args:
        dets: image id -> float64 [N, 5] (x1, y1, x2, y2, score), scores in any range.

    Returns:
        image id -> float64 [N, 5] with scores in [0, 1] (all 1 when every score is equal).
    """
    scores = [d[:, 4] for d in dets.values() if len(d)]
    if not scores:
        return {k: d.copy() for k, d in dets.items()}
    low = min(float(s.min()) for s in scores)
    high = max(float(s.max()) for s in scores)
    out = {}
    for key, d in dets.items():
        d = d.copy()
        d[:, 4] = (d[:, 4] - low) / (high - low) if high > low else d[:, 4] - (low - 1)
        out[key] = d
    return out


def iou_plus_one(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU with the +1-pixel convention (step 2).

    Args:
        boxes: float64 [N, 4] (x1, y1, x2, y2) in pixels.
        gt: float64 [M, 4] (x1, y1, x2, y2) in pixels.

    Returns:
        float64 [N, M] IoU in [0, 1]; 0 where the boxes do not overlap (width or height <= 0).
    """
    b = boxes[:, None, :]
    w = np.minimum(b[..., 2], gt[:, 2]) - np.maximum(b[..., 0], gt[:, 0]) + 1
    h = np.minimum(b[..., 3], gt[:, 3]) - np.maximum(b[..., 1], gt[:, 1]) + 1
    inter = w * h
    area_b = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    area_g = (gt[:, 2] - gt[:, 0] + 1) * (gt[:, 3] - gt[:, 1] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (area_b[:, None] + area_g[None, :] - inter)
    iou[(w <= 0) | (h <= 0)] = 0.0
    return iou


def _image_counts(gt: np.ndarray, det: np.ndarray, ious: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Steps 2-4 for one image with normalised scores: proposals int64 [T], recalled int64 [K, T]."""
    order = np.argsort(-det[:, 4], kind="stable")
    det = det[order]
    overlap = iou_plus_one(det[:, :4], gt)
    best_gt = overlap.argmax(axis=1)
    best_iou = overlap[np.arange(len(det)), best_gt]
    # number of detections with score >= t (scores are sorted descending, so the top `count`)
    count = np.searchsorted(-det[:, 4], -SCORE_THRESHOLDS, side="right")
    recalled = np.zeros((len(ious), THRESHOLD_COUNT), dtype=np.int64)
    for k, thr in enumerate(ious):
        hits = np.nonzero(best_iou >= thr)[0]
        first_hit = hits[np.unique(best_gt[hits], return_index=True)[1]]
        pred_recall = np.concatenate([[0], np.cumsum(np.bincount(first_hit, minlength=len(det)))])
        recalled[k] = pred_recall[count]
    return count.astype(np.int64), recalled


def official_counts(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray],
                    iou_thresholds: Sequence[float] = (0.5,)) -> OfficialCounts:
    """Per-image counts for every IoU threshold; scores are normalised over the whole `dets` first.

    Args:
        gts: image id -> float64 [M, 4] ground truth (x1, y1, x2, y2) in pixels (the image set).
        dets: image id -> float64 [N, 5] (x1, y1, x2, y2, score); a missing id = no detections.
        iou_thresholds: the K IoU thresholds (compared with >=).
    """
    ids, gts, dets = check_inputs(gts, dets)
    dets = normalise_scores(dets)
    ious = [float(t) for t in iou_thresholds]
    proposals = np.zeros((len(ids), THRESHOLD_COUNT), dtype=np.int32)
    recalled = np.zeros((len(ious), len(ids), THRESHOLD_COUNT), dtype=np.int32)
    for i, key in enumerate(ids):
        if len(gts[key]) and len(dets[key]):
            proposals[i], recalled[:, i] = _image_counts(gts[key], dets[key], ious)
    faces = np.array([len(gts[key]) for key in ids], dtype=np.int64)
    return OfficialCounts(ids, ious, proposals, recalled, faces)


def official_curve(proposals: np.ndarray, recalled: np.ndarray, faces: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps 5-6 from summed counts, vectorised over any leading dimensions (e.g. resamples B).

    Args:
        proposals: float or int [..., T], detections above each threshold, summed over images.
        recalled: float or int [..., T], recalled faces, summed over images.
        faces: float or int [...], total faces.

    Returns:
        (ap [...], precision [..., T], recall [..., T]) float64; precision is NaN where proposals == 0
        and ap is NaN where faces == 0.
    """
    proposals = np.asarray(proposals, dtype=np.float64)
    recalled = np.asarray(recalled, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = recalled / proposals
        recall = recalled / faces[..., None]
    lead = recall.shape[:-1]
    mrec = np.concatenate([np.zeros(lead + (1,)), recall, np.ones(lead + (1,))], axis=-1)
    mpre = np.concatenate([np.zeros(lead + (1,)), precision, np.zeros(lead + (1,))], axis=-1)
    # precision envelope from the right; fmax skips NaN ("no point")
    envelope = np.flip(np.fmax.accumulate(np.flip(mpre, axis=-1), axis=-1), axis=-1)
    step = np.diff(mrec, axis=-1)
    ap = np.sum(np.where(step != 0, step * envelope[..., 1:], 0.0), axis=-1)
    ap = np.where(faces > 0, ap, np.nan)
    return ap, precision, recall


def official_ap(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray],
                iou_threshold: float = 0.5) -> OfficialResult:
    """The official DARK FACE AP at one IoU threshold (0.5 is the official one; 0.3/0.7 as in MLSM).

    Args:
        gts: image id -> float64 [M, 4] ground truth (x1, y1, x2, y2) in pixels (the image set).
        dets: image id -> float64 [N, 5] (x1, y1, x2, y2, score); a missing id = no detections.
        iou_threshold: IoU (+1-pixel convention) at which a face counts as recalled.
    """
    counts = official_counts(gts, dets, (iou_threshold,))
    ap, precision, recall = official_curve(counts.proposals.sum(0), counts.recalled[0].sum(0), counts.faces.sum())
    return OfficialResult(float(ap), precision, recall, SCORE_THRESHOLDS.copy())
