"""DetectionEvaluator: streaming equals one shot, JSON schema, agreement with the single metrics."""
import json

import pytest
import torch

from facebench.metrics import (DetectionEvaluator, MetricSettings, coco_ap, compare_evaluators,
                               evaluate_detections, official_ap)
from metric_cases import synthetic

SETTINGS = MetricSettings(resamples=100, seed=0)


def test_streaming_equals_one_shot_and_is_strict_json():
    gts, dets = synthetic(7, images=30)
    ev = DetectionEvaluator(SETTINGS)
    ids = list(gts)
    ev.process(ids[:10], [gts[i] for i in ids[:10]], [torch.from_numpy(dets[i]) for i in ids[:10]])
    ev.process(ids[10:], gts, dets)  # mappings work too
    result = ev.evaluate()
    assert result == evaluate_detections(gts, dets, SETTINGS)
    json.dumps(result, allow_nan=False)
    assert result["num_images"] == 30 and result["num_faces"] == sum(len(g) for g in gts.values())
    for k, iou in enumerate((0.3, 0.5, 0.7)):
        off = result["official"]["iou"][f"{iou:g}"]
        assert off["ap"] == pytest.approx(official_ap(gts, dets, iou).ap)
        assert len(off["precision"]) == len(off["recall"]) == len(result["official"]["score_thresholds"]) == 1000
        assert off["ci"][0] <= off["ap"] <= off["ci"][1]
    ref = coco_ap(gts, dets)
    for t, iou in enumerate(ref.iou_thresholds):
        for a, label in enumerate(ref.area_labels):
            row = result["coco"]["iou"][f"{iou:g}"][label]
            assert row["ap"] == pytest.approx(ref.ap[a, t]) and len(row["precision"]) == 101
    assert result["coco"]["size_bins"] == {"all": [0.0, None], "<16": [0.0, 16.0], "16-32": [16.0, 32.0],
                                           ">32": [32.0, None]}


def test_reset_duplicates_and_no_bootstrap():
    gts, dets = synthetic(8, images=5)
    ev = DetectionEvaluator(MetricSettings(resamples=0))
    ev.process(list(gts), gts, dets)
    with pytest.raises(ValueError, match="processed twice"):
        ev.process(["0"], gts, dets)
    assert ev.evaluate()["official"]["iou"]["0.5"]["ci"] is None
    ev.reset()
    with pytest.raises(ValueError, match="no images"):
        ev.evaluate()
    with pytest.raises(ValueError, match="confidence"):
        MetricSettings(confidence=95)


def test_compare_evaluators_needs_same_ground_truth():
    gts, dets = synthetic(9, images=6)
    a, b = DetectionEvaluator(SETTINGS), DetectionEvaluator(SETTINGS)
    a.process(list(gts), gts, dets)
    b.process(list(gts), gts, {})
    result = compare_evaluators(a, b)
    assert result["official"]["0.5"]["ap_b"] == 0.0 and result["official"]["0.5"]["diff"] < 0
    other = {k: g + 1 for k, g in gts.items()}
    c = DetectionEvaluator(SETTINGS)
    c.process(list(other), other, dets)
    with pytest.raises(ValueError, match="ground truth differs"):
        compare_evaluators(a, c)
