"""pycocotools' accumulate() re-done for image weights, so bootstrap resamples cost no re-matching.

Dimensions: I = images, D = detections, T = IoU thresholds, R = recall thresholds, B = weight rows
(bootstrap resamples), K = true positives at one IoU threshold.

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

_CHUNK = 32  # weight rows per block: bounds memory at ~true positives x 32 floats per array


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


def _curve_parts(matches: CocoMatches, t: int) -> tuple[np.ndarray, sparse.csr_matrix]:
    """For IoU index t: the image of each true positive, int64 [K] in score order, and a sparse [K, I]
    matrix whose row j counts, per image, the false positives ranked between true positives j-1 and j."""
    tp_pos = np.nonzero(matches.true_positive[t])[0]
    fp_pos = np.nonzero(matches.false_positive[t])[0]
    segment = np.searchsorted(tp_pos, fp_pos)
    keep = segment < len(tp_pos)  # false positives after the last true positive set no curve point
    segments = sparse.csr_matrix((np.ones(int(keep.sum())), (segment[keep], matches.image_index[fp_pos[keep]])),
                                 shape=(len(tp_pos), len(matches.gt_count)))
    return matches.image_index[tp_pos], segments


def _precision_block(tp_image: np.ndarray, segments: sparse.csr_matrix, block: np.ndarray, faces: np.ndarray,
                     recall_thresholds: np.ndarray) -> np.ndarray:
    """Interpolated precision [b, R] for one IoU threshold: block = weights [b, I], faces = [b]."""
    if len(tp_image) == 0:
        return np.zeros((block.shape[0], len(recall_thresholds)))
    # [b, K] layout: accumulating along the contiguous axis is several times faster than along axis 0
    tp_sum = np.cumsum(block[:, tp_image], axis=1)
    fp_sum = np.cumsum(np.ascontiguousarray(np.asarray(segments @ block.T).T), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp_sum / faces[:, None]
    precision = tp_sum / (fp_sum + tp_sum + np.spacing(1))  # pycocotools' exact expression
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    inds = np.stack([np.searchsorted(row, recall_thresholds, side="left") for row in recall])
    reached = inds < len(tp_image)
    return np.where(reached, np.take_along_axis(envelope, np.minimum(inds, len(tp_image) - 1), axis=1), 0.0)


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
    faces = weights @ matches.gt_count
    out = np.zeros((weights.shape[0], n_ious, len(recall_thresholds)))
    for t in range(n_ious):
        tp_image, segments = _curve_parts(matches, t)
        for start in range(0, weights.shape[0], _CHUNK):
            rows = slice(start, start + _CHUNK)
            out[rows, t] = _precision_block(tp_image, segments, weights[rows], faces[rows], recall_thresholds)
    out[faces == 0] = np.nan
    return out
