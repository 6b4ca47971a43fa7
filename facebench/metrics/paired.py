"""Paired bootstrap comparison of two detection sets on the same images (e.g. two enhancers).

Both sets are evaluated on the same resamples (same image weights), so the difference AP(b) - AP(a)
is judged against the variation of the difference itself, not of each AP. Result schema (floats,
NaN -> None, IoU keys as in `facebench.metrics.evaluator`):

    {"bootstrap": {"resamples", "confidence", "seed"}, "difference": "b - a",
     "official": {"0.5": {"ap_a", "ap_b", "diff", "diff_mean", "ci_low", "ci_high",
                          "sign_flip_fraction"}, ...},
     "coco": {"0.5": {"all": {...same keys...}, "<16": {...}, ...}, ...}}

See `facebench.metrics.bootstrap.paired_summary` for the meaning of each key.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import numpy as np

from facebench.metrics.bootstrap import (PreparedSet, coco_samples, official_samples, paired_summary, prepare,
                                         resample_weights)
from facebench.metrics.coco import RECALL_THRESHOLDS, coco_result
from facebench.metrics.evaluator import DetectionEvaluator, iou_key, to_json
from facebench.metrics.official import official_curve
from facebench.metrics.settings import MetricSettings


def compare_detections(gts: Mapping[str, np.ndarray], dets_a: Mapping[str, np.ndarray],
                       dets_b: Mapping[str, np.ndarray], settings: Optional[MetricSettings] = None) -> Dict[str, Any]:
    """Paired bootstrap of AP(b) - AP(a) for every official and COCO AP.

    Args:
        gts: image id -> float64 [M, 4] ground truth (x1, y1, x2, y2) in pixels (the image set).
        dets_a, dets_b: image id -> float64 [N, 5] (x1, y1, x2, y2, score), e.g. the detector after
            enhancer A and after enhancer B; each set's scores are normalised on its own (official AP).
        settings: what to compute; `resamples` must be >= 1.
    """
    settings = settings or MetricSettings()
    _require_resamples(settings)
    return compare_prepared(prepare(gts, dets_a, settings), prepare(gts, dets_b, settings), settings)


def _require_resamples(settings: MetricSettings) -> None:
    if settings.resamples < 1:
        raise ValueError("compare_detections: settings.resamples must be >= 1 for a paired bootstrap")


def compare_prepared(set_a: PreparedSet, set_b: PreparedSet, settings: MetricSettings) -> Dict[str, Any]:
    """`compare_detections` on two sets already matched with `bootstrap.prepare` (same images, same
    ground truth, prepared with `settings`), so a baseline prepared once serves every comparison."""
    _require_resamples(settings)
    sets = [set_a, set_b]
    weights = resample_weights(len(set_a.official.image_ids), settings.resamples, settings.seed)
    official, coco = {}, {}
    boot_off = [official_samples(s.official, weights) for s in sets]
    totals = [s.official.totals() for s in sets]
    for k, iou in enumerate(settings.iou_thresholds):
        aps = [official_curve(proposals[k], recalled[k], s.official.faces.sum())[0]
               for s, (proposals, recalled) in zip(sets, totals)]
        official[iou_key(iou)] = paired_summary(aps[0], aps[1], boot_off[0][:, k], boot_off[1][:, k],
                                                settings.confidence)
    boot_coco = [coco_samples(s.coco.matches, weights, RECALL_THRESHOLDS) for s in sets]
    results = [coco_result(s.coco) for s in sets]
    for t, iou in enumerate(settings.iou_thresholds):
        coco[iou_key(iou)] = {
            label: paired_summary(results[0].ap[a, t], results[1].ap[a, t], boot_coco[0][:, a, t],
                                  boot_coco[1][:, a, t], settings.confidence)
            for a, label in enumerate(results[0].area_labels)}
    return to_json({"bootstrap": {"resamples": settings.resamples, "confidence": settings.confidence,
                                  "seed": settings.seed},
                    "difference": "b - a", "official": official, "coco": coco})


def compare_evaluators(a: DetectionEvaluator, b: DetectionEvaluator) -> Dict[str, Any]:
    """`compare_detections` on what two evaluators processed (same images and ground truth; a's settings).

    Raises:
        ValueError: the evaluators saw different images or different ground truth.
    """
    if set(a.gts) != set(b.gts):
        raise ValueError(f"compare_evaluators: the evaluators processed different images "
                         f"({len(a.gts)} vs {len(b.gts)} ids, {len(set(a.gts) ^ set(b.gts))} not in both)")
    differing = [key for key in a.gts if not np.array_equal(a.gts[key], b.gts[key])]
    if differing:
        raise ValueError(f"compare_evaluators: ground truth differs for {len(differing)} image(s), "
                         f"e.g. {differing[0]!r}")
    return compare_detections(a.gts, a.dets, b.dets, a.settings)
