"""Detection metrics of facebench: official DARK FACE AP, COCO AP (pycocotools' definition), AP by face
size, bootstrap intervals and paired comparisons. numpy + scipy, vectorised over images; no torch needed.
pycocotools itself is the reference the COCO engine is tested against (`coco_reference`).

Inputs everywhere:
    gts:  dict[str image_id -> np.ndarray float64 [M, 4]]  (x1, y1, x2, y2) in pixels; M may be 0
    dets: dict[str image_id -> np.ndarray float64 [N, 5]]  (x1, y1, x2, y2, score); missing id = none
"""
from facebench.metrics.coco import CocoResult, coco_ap
from facebench.metrics.evaluator import DetectionEvaluator, evaluate_detections
from facebench.metrics.official import OfficialResult, official_ap
from facebench.metrics.paired import compare_detections, compare_evaluators
from facebench.metrics.settings import MetricSettings

__all__ = ["CocoResult", "DetectionEvaluator", "MetricSettings", "OfficialResult", "coco_ap",
           "compare_detections", "compare_evaluators", "evaluate_detections", "official_ap"]
