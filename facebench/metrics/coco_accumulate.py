"""pycocotools' accumulate() re-done for image weights, so bootstrap resamples cost no re-matching.

Dimensions: I = images, D = detections, T = IoU thresholds, R = recall thresholds, B = weight rows
(bootstrap resamples).

pycocotools matches each image once (`COCOeval.evaluate`); accumulate() then pools the detections of
all images, sorts them by score and integrates precision over recall. A bootstrap resample is the same
images drawn with multiplicity, i.e. integer image weights w[b, i]: a detection of image i counts w
times and so do its faces. Copies of a detection share its score; they are placed next to each other
(any order of equal scores is a valid sort), which makes the cumulative true/false positive counts
weighted cumulative sums. With all weights 1 the result equals pycocotools' accumulate() exactly.

Only the curve points right after a true positive can set the precision envelope (a false positive
lowers precision at unchanged recall), so the work is O(true positives x B) plus a sparse pass over
the false positives.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pycocotools.cocoeval import COCOeval
from scipy import sparse

_CHUNK = 64  # weight rows per block: bounds memory at ~true positives x 64 floats per array


@dataclass
class CocoMatches:
    """pycocotools' per-image matches for one size bin, pooled in accumulate()'s score order.

    Attributes:
        image_index: int64 [D], image (0..I-1) of each detection, sorted by descending score.
        true_positive: bool [T, D], matched and not ignored.
        false_positive: bool [T, D], unmatched and not ignored.
        gt_count: int64 [I], ground-truth faces per image that are not ignored (in the size bin).
    """

    image_index: np.ndarray
    true_positive: np.ndarray
    false_positive: np.ndarray
    gt_count: np.ndarray


def coco_matches(evaluator: COCOeval, area_index: int = 0) -> CocoMatches:
    """Pools `evaluator.evalImgs` (after evaluate()) for size bin `area_index` of a single category."""
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


def _precision_one_iou(image_index: np.ndarray, tp: np.ndarray, fp: np.ndarray, weights_t: np.ndarray,
                       faces: np.ndarray, recall_thresholds: np.ndarray) -> np.ndarray:
    """Interpolated precision [B, R] for one IoU threshold; weights_t is float64 [I, B], faces [B]."""
    out = np.zeros((weights_t.shape[1], len(recall_thresholds)))
    tp_pos = np.nonzero(tp)[0]
    if len(tp_pos) == 0:
        return out
    fp_pos = np.nonzero(fp)[0]
    # segment j = false positives ranked between true positives j-1 and j
    segments = sparse.csr_matrix((np.ones(len(fp_pos)), (np.searchsorted(tp_pos, fp_pos), image_index[fp_pos])),
                                 shape=(len(tp_pos) + 1, weights_t.shape[0]))
    tp_sum = np.cumsum(weights_t[image_index[tp_pos]], axis=0)
    fp_sum = np.cumsum(np.asarray(segments @ weights_t)[:-1], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp_sum / faces
    precision = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    envelope = np.flip(np.maximum.accumulate(np.flip(precision, axis=0), axis=0), axis=0)
    for b in range(out.shape[0]):
        inds = np.searchsorted(recall[:, b], recall_thresholds, side="left")
        reached = inds < len(tp_pos)
        out[b, reached] = envelope[inds[reached], b]
    return out


def weighted_precision(matches: CocoMatches, weights: np.ndarray, recall_thresholds: np.ndarray) -> np.ndarray:
    """Interpolated precision under image weights, as pycocotools' accumulate() computes it.

    Args:
        matches: the pooled matches of one size bin.
        weights: int or float [B, I], non-negative image multiplicities (all ones = the data set itself).
        recall_thresholds: float64 [R], e.g. `params.recThrs` (0..1 in 101 steps).

    Returns:
        float64 [B, T, R]; rows whose weighted face count is 0 are NaN (pycocotools' -1).
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    n_ious = matches.true_positive.shape[0]
    out = np.zeros((weights.shape[0], n_ious, len(recall_thresholds)))
    for start in range(0, weights.shape[0], _CHUNK):
        block = weights[start:start + _CHUNK]
        weights_t = np.ascontiguousarray(block.T)
        faces = block @ matches.gt_count
        for t in range(n_ious):
            out[start:start + len(block), t] = _precision_one_iou(
                matches.image_index, matches.true_positive[t], matches.false_positive[t], weights_t, faces,
                recall_thresholds)
        out[start:start + len(block)][faces == 0] = np.nan
    return out
