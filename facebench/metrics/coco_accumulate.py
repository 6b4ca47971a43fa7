"""pycocotools' accumulate() re-done for image weights, so bootstrap resamples cost no re-matching.

Dimensions: I = images, D = detections, T = IoU thresholds, R = recall thresholds, B = weight rows
(bootstrap resamples), K = curve points kept at one IoU threshold, Q = points kept at any threshold.

pycocotools matches each image once; accumulate() then pools the detections of all images, sorts them
by score and integrates precision over recall. A bootstrap resample is the same images drawn with
multiplicity, i.e. integer image weights w[b, i]: a detection of image i counts w times and so do its
faces. Copies of a detection share its score; they are placed next to each other (any order of equal
scores is a valid sort), which makes the cumulative true/false positive counts weighted cumulative
sums. With all weights 1 the result equals pycocotools' accumulate() exactly.

Only some curve points matter. A false positive lowers precision at unchanged recall, so only points
right after a true positive can set the precision envelope; within a run of true positives with no
false positive between them precision only rises, so the last point of each run stands for the run
(recall lookups landing inside the run read the same envelope value). Per kept point the work needs
the weighted true positives so far (TP) and the weighted non-ignored detections so far (N), as
pycocotools' precision TP / (FP + TP + eps) has FP + TP = N exactly in integers. N is shared across
IoU thresholds up to the few detections whose ignore flag depends on the threshold (those matched to a
face at some threshold), so it is summed once per size bin over the union of kept points, plus a small
correction per threshold. All weighted sums are one sparse [rows, I] @ [I, B] product per chunk of
resamples, then cumulative sums: O((D + true positives) x B) instead of O(T x D x B).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
from scipy import sparse

_CHUNK = 32  # weight rows per block: bounds memory at ~(Q + 2 x true positives) x 32 floats


@dataclass
class CocoMatches:
    """Per-detection matching results of one size bin, pooled in accumulate()'s score order.

    Attributes:
        image_index: int64 [D], image (0..I-1) of each detection, sorted by descending score.
        true_positive: bool [T, D], matched and not ignored.
        false_positive: bool [T, D], unmatched and not ignored.
        gt_count: int64 [I], ground-truth faces per image that are not ignored (in the size bin).
        plan: the weight-independent layout of the sums (`_plan`), built on first use and kept, so the
            point estimate and the bootstrap of the same matches plan once.
    """

    image_index: np.ndarray
    true_positive: np.ndarray
    false_positive: np.ndarray
    gt_count: np.ndarray
    plan: Optional["_Plan"] = field(default=None, repr=False, compare=False)


@dataclass
class _Plan:
    """Weight-independent layout of the weighted sums for one size bin.

    matrix: sparse [rows, I]; row block 0 (Q rows) counts the non-ignored detections common to all
        thresholds between consecutive kept points of the union, block 1 + t (K_t rows) the true
        positives of threshold t between its consecutive kept points; `blocks` holds (start, stop).
    in_union: per threshold, int64 [K_t], where its kept points sit among the Q.
    extra_image: per threshold, int64 [E_t], image of each threshold-specific non-ignored detection
        (few: only detections matched at some threshold), in score order.
    extra_seen: per threshold, int64 [K_t], how many of those come at or before each kept point.
    """

    matrix: sparse.csr_matrix
    blocks: List[Tuple[int, int]]
    in_union: List[np.ndarray]
    extra_image: List[np.ndarray]
    extra_seen: List[np.ndarray]


def _run_ends(true_positive: np.ndarray, false_positive: np.ndarray) -> np.ndarray:
    """Positions (sorted) of the last true positive of each run without a false positive in between."""
    tp_pos = np.flatnonzero(true_positive)
    fp_seen = np.cumsum(false_positive)[tp_pos]
    return tp_pos[np.append(fp_seen[1:] != fp_seen[:-1], True)] if len(tp_pos) else tp_pos


def _segment_counts(positions: np.ndarray, images: np.ndarray, points: np.ndarray, n_images: int) -> sparse.coo_matrix:
    """Sparse [len(points), I]: row j counts, per image, the positions in (points[j-1], points[j]]."""
    row = np.searchsorted(points, positions, side="left")
    keep = row < len(points)
    return sparse.coo_matrix((np.ones(int(keep.sum())), (row[keep], images[keep])), shape=(len(points), n_images))


def _plan(matches: CocoMatches) -> _Plan:
    if matches.plan is None:
        matches.plan = _build_plan(matches)
    return matches.plan


def _build_plan(matches: CocoMatches) -> _Plan:
    n_images = len(matches.gt_count)
    tp, fp = matches.true_positive, matches.false_positive
    counted = tp | fp  # non-ignored, per threshold
    common = counted.all(axis=0)
    ends = [_run_ends(tp[t], fp[t]) for t in range(len(tp))]
    union = np.unique(np.concatenate(ends))
    parts = [_segment_counts(np.flatnonzero(common), matches.image_index[common], union, n_images)]
    extra_image, extra_seen = [], []
    for t, points in enumerate(ends):
        where = np.flatnonzero(tp[t])
        parts.append(_segment_counts(where, matches.image_index[where], points, n_images))
        extra = np.flatnonzero(counted[t] & ~common)
        extra_image.append(matches.image_index[extra])
        extra_seen.append(np.searchsorted(extra, points, side="right"))
    sizes = np.array([p.shape[0] for p in parts])
    stops = np.cumsum(sizes)
    return _Plan(sparse.vstack(parts, format="csr"), list(zip((stops - sizes).tolist(), stops.tolist())),
                 [np.searchsorted(union, points) for points in ends], extra_image, extra_seen)


def _interpolated(tp_sum: np.ndarray, counted_sum: np.ndarray, faces: np.ndarray,
                  recall_thresholds: np.ndarray) -> np.ndarray:
    """pycocotools' precision at recall thresholds from [b, K] sums at the kept points -> [b, R]."""
    n_points = tp_sum.shape[1]
    if n_points == 0:
        return np.zeros((tp_sum.shape[0], len(recall_thresholds)))
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp_sum / faces[:, None]
    precision = tp_sum / (counted_sum + np.spacing(1))  # = tp / (fp + tp + eps), fp + tp exact in integers
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    inds = np.stack([np.searchsorted(row, recall_thresholds, side="left") for row in recall])
    reached = inds < n_points
    return np.where(reached, np.take_along_axis(envelope, np.minimum(inds, n_points - 1), axis=1), 0.0)


def weighted_precision(matches: CocoMatches, weights: np.ndarray, recall_thresholds: np.ndarray) -> np.ndarray:
    """Interpolated precision under image weights, as pycocotools' accumulate() computes it.

    Args:
        matches: the pooled matches of one size bin.
        weights: int or float [B, I], non-negative image multiplicities (all ones = the data set itself).
        recall_thresholds: float64 [R], e.g. 0..1 in 101 steps (pycocotools' `recThrs`).

    Returns:
        float64 [B, T, R]; rows whose weighted face count is 0 are NaN (pycocotools' -1).
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    recall_thresholds = np.asarray(recall_thresholds, dtype=np.float64)
    n_thr = matches.true_positive.shape[0]
    plan = _plan(matches)
    faces = weights @ matches.gt_count
    # every weighted sum is an integer <= this bound: float32 holds it exactly below 2**24 (half the traffic)
    bound = (weights @ np.bincount(matches.image_index, minlength=len(matches.gt_count))).max(initial=0)
    dtype = np.float32 if bound < 2 ** 24 else np.float64
    matrix = plan.matrix.astype(dtype)
    out = np.zeros((weights.shape[0], n_thr, len(recall_thresholds)))
    for start in range(0, weights.shape[0], _CHUNK):
        block = weights[start:start + _CHUNK].astype(dtype)
        sums = np.ascontiguousarray(np.asarray(matrix @ block.T).T)  # [b, rows]
        cum = [np.cumsum(sums[:, lo:hi], axis=1) for lo, hi in plan.blocks]
        for t in range(n_thr):
            counted = cum[0][:, plan.in_union[t]].astype(np.float64)
            if len(plan.extra_image[t]):
                extra = np.cumsum(block[:, plan.extra_image[t]], axis=1, dtype=np.float64)
                counted += np.concatenate([np.zeros((len(block), 1)), extra], axis=1)[:, plan.extra_seen[t]]
            out[start:start + len(block), t] = _interpolated(cum[1 + t].astype(np.float64), counted,
                                                             faces[start:start + len(block)], recall_thresholds)
    out[faces == 0] = np.nan
    return out
