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
Ignore regions (ground truth flagged in a fifth column, WIDER FACE's invalid faces) follow the WIDER
tool: a detection whose best-IoU ground truth is an ignore region with IoU >= the threshold is not a
proposal, the region is never recalled, and ignore regions are not counted as faces; an image whose
ground truth is only ignore regions still counts its other detections as proposals.
Images without ground truth or without detections add nothing to the counts, but their faces count.

Inverted or zero-area detections (x2 <= x1 or y2 <= y1) go through the same arithmetic as in the
Octave tool, unchanged: they count as proposals, and the +1-pixel overlap width min(x2) - max(x1) + 1
is <= 0 (IoU 0, recalls nothing) unless the box is inverted by less than one pixel, in which case it
overlaps like a box that narrow.

Counting is vectorised over all images at once: each detection contributes one proposal from the
first threshold its normalised score reaches, and each recalled face one recall from the first
threshold at which any detection recalls it (the per-image order of the tool does not change these
counts: detections with equal scores pass every threshold together).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
from scipy import sparse

from facebench.metrics.box_pairs import same_image_pairs, segment_best
from facebench.metrics.inputs import PackedBoxes, pack

THRESHOLD_COUNT = 1000
SCORE_THRESHOLDS = 1 - np.arange(1, THRESHOLD_COUNT + 1) / THRESHOLD_COUNT  # float64 [T], 0.999 .. 0.0


@dataclass
class OfficialCounts:
    """Per-image counts of the official protocol (what every AP and every bootstrap resample sums).

    The counts at threshold t are cumulative sums over t of the steps: e.g. image i has
    `proposal_steps[k][i, :t + 1].sum()` detections with normalised score >= SCORE_THRESHOLDS[t].

    Attributes:
        image_ids: the I image ids, row order of the arrays.
        iou_thresholds: the K IoU thresholds.
        proposal_steps: K sparse float64 [I, T], one per IoU threshold: detections whose normalised score
            first reaches threshold t (none for images without ground truth; none for a detection whose
            best-IoU ground truth is an ignore region it overlaps enough at that IoU threshold).
        recall_steps: K sparse float64 [I, T], faces first recalled at threshold t, one per IoU threshold.
        faces: int64 [I], ground-truth faces per image (ignore regions not counted).
    """

    image_ids: List[str]
    iou_thresholds: List[float]
    proposal_steps: List[sparse.csr_matrix]
    recall_steps: List[sparse.csr_matrix]
    faces: np.ndarray

    def totals(self) -> Tuple[np.ndarray, np.ndarray]:
        """Counts summed over images: proposals float64 [K, T] and recalled float64 [K, T]."""
        proposals = np.stack([np.cumsum(np.asarray(m.sum(axis=0)).ravel()) for m in self.proposal_steps])
        recalled = np.stack([np.cumsum(np.asarray(m.sum(axis=0)).ravel()) for m in self.recall_steps])
        return proposals, recalled


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


def _normalised(scores: np.ndarray) -> np.ndarray:
    """Step 1 on float64 [D] scores of the whole set."""
    if not len(scores):
        return scores.copy()
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else scores - (low - 1)


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


def _iou(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """+1-pixel IoU in the Octave tool's order of operations.

    Args:
        boxes, gt: float64 [4, ...] broadcastable coordinate-first arrays (x1, y1, x2, y2) in pixels.
    """
    w = np.minimum(boxes[2], gt[2]) - np.maximum(boxes[0], gt[0]) + 1
    h = np.minimum(boxes[3], gt[3]) - np.maximum(boxes[1], gt[1]) + 1
    inter = w * h
    area_b = (boxes[2] - boxes[0] + 1) * (boxes[3] - boxes[1] + 1)
    area_g = (gt[2] - gt[0] + 1) * (gt[3] - gt[1] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (area_b + area_g - inter)
    iou[(w <= 0) | (h <= 0)] = 0.0
    return iou


def iou_plus_one(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU with the +1-pixel convention (step 2).

    Args:
        boxes: float64 [N, 4] (x1, y1, x2, y2) in pixels (may be inverted: see the module docstring).
        gt: float64 [M, 4] (x1, y1, x2, y2) in pixels.

    Returns:
        float64 [N, M] IoU in [0, 1]; 0 where the boxes do not overlap (width or height <= 0).
    """
    return _iou(boxes.T[:, :, None], gt.T[:, None, :])


def _steps(image: np.ndarray, step: np.ndarray, n_images: int) -> sparse.csr_matrix:
    """Sparse [I, T] count of (image, threshold index) events."""
    return sparse.csr_matrix((np.ones(len(image)), (image, step)), shape=(n_images, THRESHOLD_COUNT))


def counts_from_packed(packed: PackedBoxes, iou_thresholds: Sequence[float]) -> OfficialCounts:
    """Steps 1-4 for every image and IoU threshold at once (see `official_counts`)."""
    n_images = len(packed.image_ids)
    scores = _normalised(packed.det[:, 4])
    det_image = packed.det_image
    rows = np.flatnonzero(np.diff(packed.gt_start)[det_image] > 0)  # detections of images with ground truth
    # first threshold index t with score >= SCORE_THRESHOLDS[t] (thresholds descend; compare exactly)
    first_step = np.searchsorted(-SCORE_THRESHOLDS, -scores[rows], side="left")
    pair_det, pair_gt, pair_start = same_image_pairs(det_image[rows], packed.gt_start)
    overlap = _iou(packed.det[rows, :4].T[:, pair_det], packed.gt.T[:, pair_gt])
    best_iou, position = segment_best(overlap, pair_det, pair_start)  # first face with the max, as Octave's max()
    best_gt = pair_gt[position]
    gt_image = packed.gt_image
    proposal_steps, recall_steps = [], []
    for thr in iou_thresholds:
        hit = best_iou >= thr
        on_ignored = hit & packed.gt_ignore[best_gt]  # the WIDER tool's proposal_list = -1
        hit &= ~on_ignored
        first = np.full(len(packed.gt), THRESHOLD_COUNT)
        np.minimum.at(first, best_gt[hit], first_step[hit])
        recalled = np.flatnonzero(first < THRESHOLD_COUNT)
        recall_steps.append(_steps(gt_image[recalled], first[recalled], n_images))
        proposal_steps.append(_steps(det_image[rows][~on_ignored], first_step[~on_ignored], n_images))
    faces = np.bincount(gt_image[~packed.gt_ignore], minlength=n_images).astype(np.int64)
    return OfficialCounts(list(packed.image_ids), [float(t) for t in iou_thresholds], proposal_steps, recall_steps,
                          faces)


def official_counts(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray],
                    iou_thresholds: Sequence[float] = (0.5,)) -> OfficialCounts:
    """Per-image counts for every IoU threshold; scores are normalised over the whole `dets` first.

    Args:
        gts: image id -> float64 [M, 4] ground truth (x1, y1, x2, y2) in pixels (the image set).
        dets: image id -> float64 [N, 5] (x1, y1, x2, y2, score); a missing id = no detections.
        iou_thresholds: the K IoU thresholds (compared with >=).
    """
    return counts_from_packed(pack(gts, dets), iou_thresholds)


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
    proposals, recalled = counts.totals()
    ap, precision, recall = official_curve(proposals[0], recalled[0], counts.faces.sum())
    return OfficialResult(float(ap), precision, recall, SCORE_THRESHOLDS.copy())
