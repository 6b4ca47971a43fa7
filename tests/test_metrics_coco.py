"""COCO AP: facebench's engine equals pycocotools (run directly, and on adversarial sets), hand cases."""
import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from facebench.metrics.coco import coco_ap, match_packed
from facebench.metrics.coco_reference import reference_matches, reference_precision, run_cocoeval
from facebench.metrics.inputs import pack
from metric_cases import adversarial, fixture_sets, synthetic


def direct_pycocotools(gts: dict, dets: dict, ious, area_rngs, max_dets: int) -> np.ndarray:
    """pycocotools the obvious way; returns eval['precision'][:, :, 0, :, -1] as [T, R, A]."""
    ids = list(gts)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        anns = [{"id": len(ids) * 1000 + n, "image_id": k + 1, "category_id": 1, "iscrowd": 0,
                 "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "area": (b[2] - b[0]) * (b[3] - b[1])}
                for k, i in enumerate(ids) for n, b in enumerate(gts[i].tolist())]
        for n, a in enumerate(anns):
            a["id"] = n + 1
        coco_gt.dataset = {"images": [{"id": k + 1} for k in range(len(ids))],
                           "categories": [{"id": 1, "name": "face"}], "annotations": anns}
        coco_gt.createIndex()
        results = [{"image_id": k + 1, "category_id": 1, "bbox": [d[0], d[1], d[2] - d[0], d[3] - d[1]], "score": d[4]}
                   for k, i in enumerate(ids) for d in dets.get(i, np.zeros((0, 5))).tolist()]
        coco_dt = coco_gt.loadRes(results)
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.iouThrs = np.array(ious)
        ev.params.maxDets = [max_dets]
        ev.params.areaRng = area_rngs
        ev.params.areaRngLbl = [str(n) for n in range(len(area_rngs))]
        ev.evaluate()
        ev.accumulate()
    return ev.eval["precision"][:, :, 0, :, -1]


def test_fixture_equals_direct_pycocotools(shared):
    gts, dets, _ = fixture_sets(shared)
    ours = coco_ap(gts, dets)
    ref = direct_pycocotools(gts, dets, [0.3, 0.5, 0.7], [[0, 1e10], [0, 256], [256, 1024], [1024, 1e10]], 1000)
    assert ours.area_labels == ["all", "<16", "16-32", ">32"]
    np.testing.assert_array_equal(ours.precision, ref.transpose(2, 0, 1))
    summarize = [[np.mean(ref[t, :, a][ref[t, :, a] > -1]) for t in range(3)] for a in range(4)]
    np.testing.assert_array_equal(ours.ap, summarize)  # AP as pycocotools' summarize() averages it
    assert 0.2 < ours.ap[0, 1] < 0.6


def test_crowded_image_keeps_every_detection():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 500, (150, 2))
    gt = np.concatenate([xy, xy + 10], axis=1)
    gts = {"crowd": gt}
    dets = {"crowd": np.concatenate([gt, rng.permutation(150)[:, None] / 150.0], axis=1)}
    ours = coco_ap(gts, dets, (0.5,), size_edges=())
    assert ours.max_dets >= 1000
    assert ours.ap[0, 0] == pytest.approx(1.0)  # pycocotools' default maxDets=100 would cap recall at 2/3


def test_hand_case_one_to_one_matching():
    # The duplicate overlaps g2 with IoU 60/140 = 0.43: COCO matches it to g2 at IoU 0.3 (AP 1); at 0.5
    # it is a false positive ranked after the only true positive: recall 1/2 at precision 1 -> 51/101.
    gts = {"a": np.array([[0, 0, 10, 10], [4, 0, 14, 10.0]])}
    dets = {"a": np.array([[0, 0, 10, 10, 0.9], [0, 0, 10, 10, 0.5]])}
    ours = coco_ap(gts, dets, (0.3, 0.5), size_edges=())
    assert ours.ap[0] == pytest.approx([1.0, 51 / 101])


def test_size_bins_the_coco_way():
    # small face 8x8 detected; large face 40x40 missed; an unmatched 40x40 false positive.
    gts = {"a": np.array([[0, 0, 8, 8], [100, 100, 140, 140.0]])}
    dets = {"a": np.array([[0, 0, 8, 8, 0.9], [300, 300, 340, 340, 0.8]])}
    ours = coco_ap(gts, dets, (0.5,), size_edges=(16, 32))
    ap = dict(zip(ours.area_labels, ours.ap[:, 0]))
    assert ap["all"] == pytest.approx(51 / 101)  # recall 1/2 at precision 1
    assert ap["<16"] == pytest.approx(1.0)       # the large face and the large false positive are ignored
    assert np.isnan(ap["16-32"])                 # no face in the bin
    assert ap[">32"] == 0.0                      # the small hit is ignored; only a false positive remains


def test_no_detections_is_zero():
    ours = coco_ap({"a": np.array([[0, 0, 9, 9.0]])}, {}, (0.5,), size_edges=())
    assert ours.ap[0, 0] == 0.0 and (ours.precision == 0).all()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("max_dets, edges", [(None, (16, 32)), (5, (4, 8, 12)), (1000, ())])
def test_engine_equals_pycocotools_on_adversarial_sets(seed, max_dets, edges):
    gts, dets = adversarial(seed) if seed % 2 else synthetic(seed)
    ious = (0.3, 0.5, 0.7, 0.75)
    reference = run_cocoeval(gts, dets, ious, edges, max_dets)
    ours = coco_ap(gts, dets, ious, edges, max_dets)
    np.testing.assert_array_equal(ours.precision, reference_precision(reference))
    for a, matches in enumerate(match_packed(pack(gts, dets), ious, edges, max_dets).matches):
        expected = reference_matches(reference, a)
        for field in ("image_index", "true_positive", "false_positive", "gt_count"):
            np.testing.assert_array_equal(getattr(matches, field), getattr(expected, field))


def test_more_than_1000_detections_in_one_image_equals_pycocotools():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 400, (40, 2))
    gt = np.concatenate([xy, xy + rng.uniform(6, 30, (40, 1))], axis=1)
    boxes = gt[rng.integers(0, 40, 1100)] + rng.normal(0, 2, (1100, 4))
    gts = {"crowd": gt, "other": gt[:3]}
    dets = {"crowd": np.concatenate([boxes, rng.random((1100, 1))], axis=1), "other": np.zeros((0, 5))}
    for max_dets in (None, 1000):
        ours = coco_ap(gts, dets, max_dets=max_dets)
        assert ours.max_dets == (1100 if max_dets is None else 1000)
        np.testing.assert_array_equal(ours.precision, reference_precision(run_cocoeval(gts, dets, max_dets=max_dets)))


def test_degenerate_detection_is_a_false_positive_of_size_zero():
    # pycocotools' IoU of a box with w <= 0 or h <= 0 is 0; its area is taken as 0: a false positive in
    # "all" and "<16" (ranked first here, so precision at recall 1 is 1/2), invisible in larger bins.
    gts = {"a": np.array([[0, 0, 20, 20.0]])}
    dets = {"a": np.array([[20, 20, 0, 0, 0.9], [0, 0, 20, 20, 0.5]])}
    ours = coco_ap(gts, dets, (0.5,), size_edges=(16,))
    ap = dict(zip(ours.area_labels, ours.ap[:, 0]))
    assert ap["all"] == pytest.approx(0.5) and ap[">16"] == pytest.approx(1.0) and np.isnan(ap["<16"])
    np.testing.assert_array_equal(ours.precision, reference_precision(run_cocoeval(gts, dets, (0.5,), (16,))))
