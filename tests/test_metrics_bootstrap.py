"""Bootstrap: own weighted accumulate vs pycocotools, weights vs repeated images, paired differences."""
import numpy as np
import pytest

from facebench.metrics.bootstrap import (official_samples, paired_summary, percentile_interval, prepare,
                                         resample_weights)
from facebench.metrics.coco import RECALL_THRESHOLDS
from facebench.metrics.coco_accumulate import weighted_precision
from facebench.metrics.coco_reference import reference_matches, reference_precision, run_cocoeval
from facebench.metrics.official import official_ap
from facebench.metrics.paired import compare_detections
from facebench.metrics.settings import MetricSettings
from metric_cases import fixture_sets, repeat_images, synthetic


def test_own_accumulate_equals_pycocotools(shared):
    gts, dets, _ = fixture_sets(shared)
    evaluator = run_cocoeval(gts, dets)
    for a in range(len(evaluator.params.areaRng)):
        ours = weighted_precision(reference_matches(evaluator, a), np.ones((1, len(gts))), evaluator.params.recThrs)[0]
        np.testing.assert_array_equal(ours, evaluator.eval["precision"][:, :, 0, a, -1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weights_equal_repeated_images(seed):
    # distinct scores: the copies of a detection are adjacent in pycocotools' sort of the repeated set too
    gts, dets = synthetic(seed)
    weights = np.random.default_rng(seed).integers(0, 4, len(gts))
    weights[[0, -1]] = 1
    settings = MetricSettings(iou_thresholds=(0.3, 0.5, 0.7), resamples=0)
    prepared = prepare(gts, dets, settings)
    rep_g, rep_d = repeat_images(gts, dets, weights)
    ours = np.stack([weighted_precision(m, weights[None], RECALL_THRESHOLDS)[0] for m in prepared.coco.matches])
    np.testing.assert_array_equal(ours, reference_precision(run_cocoeval(rep_g, rep_d)))
    # official: weights >= 1 keep the global min and max score, so normalisation is unchanged
    weights = np.maximum(weights, 1)
    rep_g, rep_d = repeat_images(gts, dets, weights)
    ours = official_samples(prepared.official, weights[None])[0]
    expected = [official_ap(rep_g, rep_d, t).ap for t in settings.iou_thresholds]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_resample_weights_are_seeded_draws():
    w = resample_weights(50, 200, seed=3)
    assert w.shape == (200, 50) and (w.sum(axis=1) == 50).all()
    np.testing.assert_array_equal(w, resample_weights(50, 200, seed=3))
    assert not np.array_equal(w, resample_weights(50, 200, seed=4))
    assert 0.55 < (w > 0).mean() < 0.71  # about 1 - 1/e of the images per resample


def test_percentile_interval_and_paired_summary():
    samples = np.arange(1001, dtype=float)
    assert percentile_interval(samples, 0.95) == pytest.approx([25.0, 975.0])
    s = paired_summary(0.5, 0.6, np.full(4, 0.5), np.array([0.6, 0.7, 0.4, np.nan]), 0.5)
    assert s["diff"] == pytest.approx(0.1) and s["diff_mean"] == pytest.approx(0.2 / 3)
    assert s["sign_flip_fraction"] == pytest.approx(1 / 3)


def test_paired_comparison():
    gts, dets = synthetic(5, images=40)
    perfect = {k: np.concatenate([g, np.linspace(1, 0.5, len(g))[:, None]], axis=1) for k, g in gts.items()}
    settings = MetricSettings(resamples=200, seed=1)
    same = compare_detections(gts, dets, dets, settings)
    for row in [same["official"]["0.5"], same["coco"]["0.5"]["all"]]:
        assert row["diff"] == 0 and row["ci_low"] == 0 and row["ci_high"] == 0 and row["sign_flip_fraction"] == 1
    better = compare_detections(gts, dets, perfect, settings)
    for row in [better["official"]["0.5"], better["coco"]["0.5"]["all"]]:
        assert row["ap_b"] == pytest.approx(1.0) and row["diff"] > 0
        assert 0 < row["ci_low"] <= row["diff_mean"] <= row["ci_high"] and row["sign_flip_fraction"] == 0
