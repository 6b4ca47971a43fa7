"""Power of a paired detection comparison: how many labelled images a difference in AP needs.

A plug-in estimate: the evaluated images stand in for the population. A hypothetical test set of n
images is drawn from them with replacement, the paired bootstrap of `facebench eval` is run on it
(resamples of its n images, percentile interval of the official AP(b) - AP(a)), and the power is the
share of such sets whose interval lies above 0. Both draws are integer weights over the I evaluated
images, so a set costs two `bootstrap.official_samples` calls per detection set and no re-matching.
The estimate inherits the evaluated images' diversity: with few of them, a set of n images repeats
images, and the spread of the difference across real new images can be wider than estimated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facebench.metrics.bootstrap import PreparedSet, official_samples, percentile_interval


@dataclass(frozen=True)
class PowerEstimate:
    """How a comparison behaves on simulated test sets of `n` images.

    Attributes:
        n: images per simulated set.
        sets: simulated sets.
        diff_mean: mean over the sets of AP(b) - AP(a) on the whole set.
        ci_width: median width of the interval.
        above: share of the sets whose interval lies above 0 (b significantly better).
        below: share of the sets whose interval lies below 0 (b significantly worse).
    """

    n: int
    sets: int
    diff_mean: float
    ci_width: float
    above: float
    below: float


def comparison_power(set_a: PreparedSet, set_b: PreparedSet, n: int, sets: int = 200, resamples: int = 1000,
                     confidence: float = 0.95, iou_index: int = 0, seed: int = 0) -> PowerEstimate:
    """Power of the paired comparison AP(b) - AP(a) (official protocol) on test sets of `n` images.

    Args:
        set_a, set_b: two detection sets on the same images (`bootstrap.prepare` with the same settings).
        n: images per simulated test set (>= 1).
        sets: simulated test sets; resamples: bootstrap resamples per set (as `facebench eval --bootstrap`).
        confidence: level of the interval.
        iou_index: which of the prepared IoU thresholds to compare.
        seed: numpy seed; the same seed gives the same estimate.
    """
    if n < 1 or sets < 1 or resamples < 1:
        raise ValueError(f"comparison_power: expected n, sets and resamples >= 1, got {n}, {sets}, {resamples}")
    images = len(set_a.official.image_ids)
    if list(set_a.official.image_ids) != list(set_b.official.image_ids):
        raise ValueError("comparison_power: the two detection sets were prepared on different images")
    rng = np.random.default_rng(seed)
    diffs, widths, above, below = [], [], 0, 0
    for _ in range(sets):
        drawn = rng.multinomial(n, np.full(images, 1.0 / images))
        weights = np.vstack([drawn, rng.multinomial(n, drawn / n, size=resamples)])
        samples = [official_samples(s.official, weights)[:, iou_index] for s in (set_a, set_b)]
        diff = samples[1] - samples[0]
        diffs.append(diff[0])
        resampled = diff[1:][~np.isnan(diff[1:])]
        low, high = percentile_interval(resampled, confidence) if len(resampled) else (np.nan, np.nan)
        widths.append(high - low)
        above += bool(low > 0)
        below += bool(high < 0)
    return PowerEstimate(n, sets, float(np.nanmean(diffs)), float(np.nanmedian(widths)), above / sets, below / sets)
