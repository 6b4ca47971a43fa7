"""Streaming detection evaluator: reset() / process(...) / evaluate() -> dict (every metric, JSON-ready).

`evaluate()` returns (floats; NaN becomes None; IoU keys are `f"{iou:g}"`, e.g. "0.5"):

    {
      "num_images": int, "num_faces": int, "num_detections": int,
      "iou_thresholds": [0.3, 0.5, 0.7],
      "bootstrap": {"resamples": 1000, "confidence": 0.95, "seed": 0},
      "official": {                                  # DARK FACE protocol (facebench.metrics.official)
        "score_thresholds": [1000 floats],           # normalised scores 0.999 .. 0.0
        "iou": {"0.5": {"ap": float, "ci": [low, high] | None,
                        "precision": [1000 floats | None],   # None = no detection above: no point
                        "recall": [1000 floats]}, ...}},
      "coco": {                                      # pycocotools' AP (facebench.metrics.coco)
        "max_dets": int, "recall_thresholds": [101 floats],
        "size_bins": {"all": [0, None], "<16": [0, 16], "16-32": [16, 32], ">32": [32, None]},
        "iou": {"0.5": {"all": {"ap": float, "ci": [low, high] | None, "precision": [101 floats]},
                        "<16": {...}, ...}, ...}}
    }

"ci" is the bootstrap percentile interval over images (None when resamples = 0; see
`facebench.metrics.bootstrap`). Size bins are sqrt(w * h) of the ground truth in pixels, COCO-style
(`facebench.metrics.size_bins`); a bin without faces has AP None.

The two conventions differ (details in `facebench.metrics.official`): the official AP min-max
normalises scores over the set, uses +1-pixel IoU, lets each detection mark only its best-IoU face
(greedy recall marking), samples 1000 score thresholds and integrates all points (VOC); COCO ranks raw
scores, uses plain IoU, matches one-to-one to the best unmatched face and averages 101 recall points.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np

from facebench.metrics.bootstrap import (PreparedSet, coco_samples, official_samples, percentile_interval,
                                         prepare, resample_weights)
from facebench.metrics.coco import RECALL_THRESHOLDS, coco_result
from facebench.metrics.inputs import as_boxes
from facebench.metrics.official import SCORE_THRESHOLDS, official_curve
from facebench.metrics.settings import MetricSettings
from facebench.metrics.size_bins import size_bins

BoxesArg = Union[Mapping[str, Any], Sequence[Any]]


def iou_key(iou: float) -> str:
    """The dict key of an IoU threshold: 0.5 -> "0.5"."""
    return f"{iou:g}"


def to_json(value: Any) -> Any:
    """numpy arrays/scalars -> lists/floats, NaN/inf -> None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


class DetectionEvaluator:
    """Collects ground truth and detections image by image, then computes every AP with intervals.

    Args:
        settings: IoU thresholds, size bins, maxDets and bootstrap options (default: MetricSettings()).

    Attributes:
        gts: image id -> float64 [M, 4] ground truth processed since reset().
        dets: image id -> float64 [N, 5] detections processed since reset() (every image has an entry).
    """

    def __init__(self, settings: Optional[MetricSettings] = None) -> None:
        self.settings = settings or MetricSettings()
        self.reset()

    def reset(self) -> None:
        """Forgets every processed image."""
        self.gts: Dict[str, np.ndarray] = {}
        self.dets: Dict[str, np.ndarray] = {}

    def process(self, image_ids: Sequence[str], gts: BoxesArg, dets: BoxesArg) -> None:
        """Adds a batch of images.

        Args:
            image_ids: the batch's image ids (unique over everything processed since reset()).
            gts: per image float [M, 4] ground truth (x1, y1, x2, y2) in pixels — a sequence aligned
                with `image_ids`, or a mapping id -> boxes.
            dets: per image float [N, 5] (x1, y1, x2, y2, score) in the same pixels (numpy or torch) —
                aligned sequence or mapping (a mapping may omit images without detections).
        """
        for pos, key in enumerate(image_ids):
            key = str(key)
            if key in self.gts:
                raise ValueError(f"image {key!r} processed twice since reset()")
            gt = gts[key] if isinstance(gts, Mapping) else gts[pos]
            det = dets.get(key, ()) if isinstance(dets, Mapping) else dets[pos]
            self.gts[key] = as_boxes(gt, 4, f"ground truth of image {key!r}")
            self.dets[key] = as_boxes(det, 5, f"detections of image {key!r}")

    def evaluate(self) -> Dict[str, Any]:
        """Every metric over the processed images, as the JSON-ready dict in the module docstring."""
        if not self.gts:
            raise ValueError("DetectionEvaluator.evaluate(): no images processed")
        return evaluate_detections(self.gts, self.dets, self.settings)


def _official_section(prepared: PreparedSet, samples: Optional[np.ndarray], confidence: float) -> Dict[str, Any]:
    counts = prepared.official
    ci = percentile_interval(samples, confidence) if samples is not None else None
    proposals, recalled = counts.totals()
    section: Dict[str, Any] = {}
    for k, iou in enumerate(counts.iou_thresholds):
        ap, precision, recall = official_curve(proposals[k], recalled[k], counts.faces.sum())
        section[iou_key(iou)] = {"ap": float(ap), "ci": None if ci is None else ci[:, k].tolist(),
                                 "precision": precision, "recall": recall}
    return {"score_thresholds": SCORE_THRESHOLDS, "iou": section}


def _coco_section(prepared: PreparedSet, samples: Optional[np.ndarray], settings: MetricSettings) -> Dict[str, Any]:
    result = coco_result(prepared.coco)
    ci = percentile_interval(samples, settings.confidence) if samples is not None else None
    section: Dict[str, Any] = {}
    for t, iou in enumerate(result.iou_thresholds):
        section[iou_key(iou)] = {
            label: {"ap": float(result.ap[a, t]), "ci": None if ci is None else ci[:, a, t].tolist(),
                    "precision": result.precision[a, t]}
            for a, label in enumerate(result.area_labels)}
    bins = {label: [lo, hi] for label, lo, hi in size_bins(settings.size_edges)}
    return {"max_dets": result.max_dets, "recall_thresholds": result.recall_thresholds, "size_bins": bins,
            "iou": section}


def evaluate_detections(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray],
                        settings: Optional[MetricSettings] = None) -> Dict[str, Any]:
    """The evaluator's result for whole dicts at once (schema in the module docstring).

    Args:
        gts: image id -> float64 [M, 4] ground truth (x1, y1, x2, y2) in pixels (the image set).
        dets: image id -> float64 [N, 5] (x1, y1, x2, y2, score); a missing id = no detections.
        settings: what to compute (default: MetricSettings()).
    """
    settings = settings or MetricSettings()
    prepared = prepare(gts, dets, settings)
    official_boot = coco_boot = None
    if settings.resamples:
        weights = resample_weights(len(prepared.official.image_ids), settings.resamples, settings.seed)
        official_boot = official_samples(prepared.official, weights)
        coco_boot = coco_samples(prepared.coco.matches, weights, RECALL_THRESHOLDS)
    return to_json({
        "num_images": len(prepared.official.image_ids),
        "num_faces": int(prepared.official.faces.sum()),
        "num_detections": prepared.num_detections,
        "iou_thresholds": list(settings.iou_thresholds),
        "bootstrap": {"resamples": settings.resamples, "confidence": settings.confidence, "seed": settings.seed},
        "official": _official_section(prepared, official_boot, settings.confidence),
        "coco": _coco_section(prepared, coco_boot, settings),
    })
