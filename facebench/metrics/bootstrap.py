"""Bootstrap over images: percentile intervals for every AP, and paired differences of two detection sets.

Dimensions: I = images, B = resamples, K = IoU thresholds, A = size bins, T = official score thresholds.

A resample draws I images with replacement; it is stored as integer weights [B, I] (how often each
image was drawn), and every AP of the resample is computed from per-image results prepared once:
- official AP: the per-image [I, T] counts (proposals, recalled) summed with the weights (a sparse
  matrix product over the per-image count increments). Scores are min-max normalised ONCE on the
  full set and NOT re-normalised per resample: renormalising would only move the thresholds when the
  image holding the global min or max score is not drawn, and would make each resample a slightly
  different protocol; the fixed normalisation keeps the score thresholds identical across resamples
  (each set of a paired comparison is normalised on its own full set, as the official tool would).
- COCO AP: the per-image matches (`coco_match`) pooled once, then `coco_accumulate.weighted_precision`.
A paired comparison applies the SAME weights to both detection sets, so the image-to-image variation
they share cancels in the difference.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Dict, List, Mapping

import numpy as np
from scipy import sparse

from facebench.metrics.coco import CocoMatchSet, match_packed
from facebench.metrics.coco_accumulate import CocoMatches, weighted_precision
from facebench.metrics.inputs import pack
from facebench.metrics.official import OfficialCounts, counts_from_packed, official_curve
from facebench.metrics.settings import MetricSettings

_CHUNK = 128  # resamples per sparse product in the official bootstrap (bounds memory)


@dataclass
class PreparedSet:
    """Everything per image that the APs of one detection set (and of any resample) are built from.

    Attributes:
        official: per-image counts of the official protocol at every IoU threshold.
        coco: the COCO matches of every size bin ("all" first).
        num_detections: detections in the set (before COCO's maxDets).
    """

    official: OfficialCounts
    coco: CocoMatchSet
    num_detections: int


def prepare(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray], settings: MetricSettings) -> PreparedSet:
    """Matches a detection set once (official and COCO) for the point estimates and the bootstrap.

    Args:
        gts: image id -> float64 [M, 4] ground truth (x1, y1, x2, y2) in pixels (the image set).
        dets: image id -> float64 [N, 5] (x1, y1, x2, y2, score); a missing id = no detections.
        settings: IoU thresholds, size bins and maxDets.
    """
    packed = pack(gts, dets)
    return PreparedSet(counts_from_packed(packed, settings.iou_thresholds),
                       match_packed(packed, settings.iou_thresholds, settings.size_edges, settings.max_dets),
                       len(packed.det))


def resample_weights(n_images: int, resamples: int, seed: int) -> np.ndarray:
    """int64 [B, I]: row b counts how often each image is drawn in resample b (each row sums to I)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_images, size=(resamples, n_images))
    offsets = (np.arange(resamples) * n_images)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=resamples * n_images).reshape(resamples, n_images)


def official_samples(counts: OfficialCounts, weights: np.ndarray) -> np.ndarray:
    """Official AP under image weights: float64 [B, K] (NaN where a resample has no faces).

    The weighted [B, T] sums are cumulative sums over thresholds of weights @ (sparse per-image
    increments): O(detections x B) instead of O(I x T x B) for the dense product.
    """
    n_ious = len(counts.iou_thresholds)
    weights = np.asarray(weights, dtype=np.float64)
    steps = counts.proposal_steps  # without ignore regions they are equal at every threshold: one product
    first = [next(j for j in range(k + 1) if _same(steps[j], steps[k])) for k in range(n_ious)]
    out = np.empty((weights.shape[0], n_ious))
    for start in range(0, weights.shape[0], _CHUNK):
        block = weights[start:start + _CHUNK]
        block_t = np.ascontiguousarray(block.T)
        faces = block @ counts.faces
        proposals = {j: _weighted_counts(steps[j], block_t) for j in set(first)}
        for k in range(n_ious):
            recalled = _weighted_counts(counts.recall_steps[k], block_t)
            out[start:start + len(block), k] = official_curve(proposals[first[k]], recalled, faces)[0]
    return out


def _same(a: sparse.csr_matrix, b: sparse.csr_matrix) -> bool:
    """Whether two sparse step matrices hold the same counts."""
    return a is b or (a.nnz == b.nnz and (a != b).nnz == 0)


def _weighted_counts(steps: sparse.csr_matrix, block_t: np.ndarray) -> np.ndarray:
    """Sparse [I, T] per-image steps and image weights [I, b] -> weighted counts float64 [b, T]."""
    return np.cumsum(np.ascontiguousarray(np.asarray(steps.T @ block_t).T), axis=1)


def coco_samples(matches: List[CocoMatches], weights: np.ndarray, recall_thresholds: np.ndarray) -> np.ndarray:
    """COCO AP under image weights: float64 [B, A, K] (NaN where a resample has no face in the bin).

    Args:
        matches: A pooled matches, one per size bin (`PreparedSet.coco.matches`).
        weights: [B, I] image weights.
        recall_thresholds: float64 [R] (`facebench.metrics.coco.RECALL_THRESHOLDS`).
    """
    return np.stack([weighted_precision(m, weights, recall_thresholds).mean(axis=-1) for m in matches], axis=1)


def percentile_interval(samples: np.ndarray, confidence: float) -> np.ndarray:
    """Percentile interval over axis 0 (NaN resamples skipped): float64 [2, ...] = (low, high)."""
    tail = 100 * (1 - confidence) / 2
    with warnings.catch_warnings():  # a size bin without faces is NaN in every resample: NaN interval
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(samples, [tail, 100 - tail], axis=0)


def paired_summary(ap_a: float, ap_b: float, samples_a: np.ndarray, samples_b: np.ndarray,
                   confidence: float) -> Dict[str, float]:
    """Summary of the paired difference AP(b) - AP(a) for one metric.

    Args:
        ap_a, ap_b: the APs on the full set.
        samples_a, samples_b: float64 [B], the APs on the same resamples.
        confidence: level of the percentile interval.

    Returns:
        {"ap_a", "ap_b", "diff" (b - a on the full set), "diff_mean" (mean over resamples),
         "ci_low", "ci_high", "sign_flip_fraction"}: the fraction of resamples whose difference does not
        have the sign of "diff" (a zero difference counts as a flip; 1.0 when "diff" is 0) — a
        bootstrap p-value-like number, small when the sign of the difference is stable.
    """
    diff = samples_b - samples_a
    diff = diff[~np.isnan(diff)]
    observed = ap_b - ap_a
    low, high = percentile_interval(diff, confidence) if len(diff) else (np.nan, np.nan)
    if not len(diff):
        flips = np.nan
    else:
        flips = np.mean(np.sign(diff) != np.sign(observed)) if observed != 0 else 1.0
    return {"ap_a": float(ap_a), "ap_b": float(ap_b), "diff": float(observed),
            "diff_mean": float(diff.mean()) if len(diff) else float("nan"),
            "ci_low": float(low), "ci_high": float(high), "sign_flip_fraction": float(flips)}
