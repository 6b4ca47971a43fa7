"""The options of a detection evaluation, as one frozen dataclass (no config dict travels inward)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from facebench.metrics.size_bins import DEFAULT_SIZE_EDGES, size_bins


@dataclass(frozen=True)
class MetricSettings:
    """What `DetectionEvaluator` and `compare_detections` compute.

    Attributes:
        iou_thresholds: IoU thresholds for both the official and the COCO AP (MLSM reports 0.3/0.5/0.7).
        size_edges: sqrt(w * h) edges in pixels of the COCO size bins; () = only "all".
        max_dets: COCO maxDets per image; None = max(1000, most detections in one image).
        resamples: bootstrap resamples over images; 0 = no confidence intervals.
        confidence: two-sided level of the percentile intervals, in (0, 1).
        seed: seed of the resampling (numpy default_rng), so intervals are reproducible.
    """

    iou_thresholds: Tuple[float, ...] = (0.3, 0.5, 0.7)
    size_edges: Tuple[float, ...] = DEFAULT_SIZE_EDGES
    max_dets: Optional[int] = None
    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "iou_thresholds", tuple(float(t) for t in self.iou_thresholds))
        object.__setattr__(self, "size_edges", tuple(float(e) for e in self.size_edges))
        if not self.iou_thresholds or not all(0 < t <= 1 for t in self.iou_thresholds):
            raise ValueError(f"iou_thresholds {self.iou_thresholds}: expected one or more values in (0, 1]")
        size_bins(self.size_edges)
        if self.max_dets is not None and self.max_dets < 1:
            raise ValueError(f"max_dets {self.max_dets}: expected a positive integer or None")
        if self.resamples < 0:
            raise ValueError(f"resamples {self.resamples}: expected >= 0")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence {self.confidence}: expected a level in (0, 1), e.g. 0.95")
