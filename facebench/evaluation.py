"""How the toolkit reads the metrics dictionaries (schema: facebench.metrics.evaluator / .paired).

`ap_entry` gives one AP with its interval and P-R arrays for either protocol, so the report, the
CSV and the plots never index the nested schema themselves.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

import numpy as np

from facebench.metrics.evaluator import evaluate_detections as _evaluate
from facebench.metrics.evaluator import iou_key
from facebench.metrics.paired import compare_detections
from facebench.metrics.settings import MetricSettings

IOU_THRESHOLDS = (0.3, 0.5, 0.7)
PROTOCOLS = ("official", "coco")


def evaluate_detections(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray], bootstrap: int = 1000,
                        seed: int = 0) -> Dict[str, Any]:
    """Every metric (official + COCO at IoU 0.3/0.5/0.7, size bins, bootstrap CIs) as a JSON-ready dict."""
    return _evaluate(gts, dets, MetricSettings(iou_thresholds=IOU_THRESHOLDS, resamples=bootstrap, seed=seed))


def compare_runs(gts: Mapping[str, np.ndarray], dets: Mapping[str, np.ndarray], baseline: Mapping[str, np.ndarray],
                 bootstrap: int = 1000, seed: int = 0) -> Dict[str, Any]:
    """Paired bootstrap of AP(dets) - AP(baseline) on the same images (bootstrap >= 1; for 0 see
    `point_difference`)."""
    settings = MetricSettings(iou_thresholds=IOU_THRESHOLDS, resamples=bootstrap, seed=seed)
    return compare_detections(gts, baseline, dets, settings)


def ap_entry(metrics: Mapping[str, Any], protocol: str, iou: float) -> Dict[str, Any]:
    """{"ap", "ci" ([low, high] or None), "precision", "recall"} of one protocol at one IoU (all sizes).

    Official: the 1000-threshold curve (points without detections dropped). COCO: precision at the
    101 recall thresholds (-1 entries, COCO's "no ground truth", dropped).
    """
    key = iou_key(iou)
    if protocol == "official":
        entry = metrics["official"]["iou"][key]
        pairs = [(r, p) for r, p in zip(entry["recall"], entry["precision"]) if p is not None]
    elif protocol == "coco":
        entry = metrics["coco"]["iou"][key]["all"]
        pairs = [(r, p) for r, p in zip(metrics["coco"]["recall_thresholds"], entry["precision"]) if p is not None and p >= 0]
    else:
        raise ValueError(f"protocol {protocol!r}: expected one of {PROTOCOLS}")
    return {"ap": entry["ap"], "ci": entry.get("ci"), "recall": [r for r, _ in pairs], "precision": [p for _, p in pairs]}


def difference_entry(comparison: Mapping[str, Any], protocol: str, iou: float) -> Dict[str, Any]:
    """One paired-bootstrap summary (diff, ci_low, ci_high, sign_flip_fraction, ...) at one IoU (all sizes)."""
    entry = comparison[protocol][iou_key(iou)]
    return entry["all"] if protocol == "coco" else entry


def point_difference(metrics_a: Mapping[str, Any], metrics_b: Mapping[str, Any]) -> Dict[str, Any]:
    """AP(b) - AP(a) from two metrics dicts of the same images, without resampling (`--bootstrap 0`).

    Same schema as `compare_runs`, with None for everything a bootstrap would give (diff_mean, ci_low,
    ci_high, sign_flip_fraction), and None as diff where an AP is undefined (no faces).
    """
    def entry(ap_a, ap_b):
        diff = None if ap_a is None or ap_b is None else ap_b - ap_a
        return {"ap_a": ap_a, "ap_b": ap_b, "diff": diff, "diff_mean": None, "ci_low": None, "ci_high": None,
                "sign_flip_fraction": None}

    official = {key: entry(value["ap"], metrics_b["official"]["iou"][key]["ap"])
                for key, value in metrics_a["official"]["iou"].items()}
    coco = {key: {label: entry(value["ap"], metrics_b["coco"]["iou"][key][label]["ap"]) for label, value in bins.items()}
            for key, bins in metrics_a["coco"]["iou"].items()}
    return {"bootstrap": {"resamples": 0}, "difference": "b - a", "official": official, "coco": coco}
