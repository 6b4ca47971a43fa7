"""Ignore regions (WIDER FACE invalid faces): ground truth rows flagged 1 in a fifth column.

Official protocol: against a line-by-line port of the WIDER tool's `image_evaluation` (a detection
whose best-IoU face is an ignore region is not a proposal; the region is never recalled nor counted).
COCO: against pycocotools run directly with the regions as `iscrowd: 1` annotations.
"""
import contextlib
import io
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from facebench.cli import main
from facebench.metrics import MetricSettings, coco_ap, evaluate_detections, official_ap
from facebench.metrics.official import iou_plus_one, normalise_scores, official_curve

IOUS = (0.3, 0.5, 0.7)


def _random_set(seed: int, images: int = 12):
    """gts with ignore flags (float64 [M, 5]) and dets [N, 5]; some detections sit on the ignore regions."""
    rng = np.random.default_rng(seed)
    gts, dets = {}, {}
    for i in range(images):
        m = int(rng.integers(0, 6))
        xy = rng.uniform(0, 200, size=(m, 2))
        wh = rng.uniform(4, 40, size=(m, 2))
        flags = (rng.random(m) < 0.35).astype(float)
        gts[str(i)] = np.column_stack([xy, xy + wh, flags])
        n = int(rng.integers(0, 9))
        base = gts[str(i)][rng.integers(0, m, size=n), :4] if m else rng.uniform(0, 200, size=(n, 4))
        jitter = rng.normal(0, 3, size=(n, 4)) if m else np.abs(rng.normal(0, 10, size=(n, 4)))
        boxes = base + jitter
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        dets[str(i)] = np.column_stack([boxes, rng.random(n)])
    return gts, dets


def _wider_tool_ap(gts, dets, iou: float) -> float:
    """The WIDER tool's image_evaluation / image_pr_info, image by image, on min-max normalised scores."""
    dets = normalise_scores(dets)
    thresholds = 1 - np.arange(1, 1001) / 1000
    totals = np.zeros((1000, 2))
    faces = 0
    for key, gt in gts.items():
        ignore = gt[:, 4] == 1
        faces += int((~ignore).sum())
        det = dets[key][np.argsort(-dets[key][:, 4], kind="stable")]
        if not len(gt) or not len(det):
            continue
        recall_list, proposal_list, pred_recall = np.zeros(len(gt)), np.ones(len(det)), np.zeros(len(det))
        for h in range(len(det)):
            overlap = iou_plus_one(det[h:h + 1, :4], gt[:, :4])[0]
            idx = int(np.argmax(overlap))
            if overlap[idx] >= iou:
                if ignore[idx]:
                    recall_list[idx], proposal_list[h] = -1, -1
                elif recall_list[idx] == 0:
                    recall_list[idx] = 1
            pred_recall[h] = np.sum(recall_list == 1)
        for t, thresh in enumerate(thresholds):
            above = np.flatnonzero(det[:, 4] >= thresh)
            if len(above):
                last = above[-1]
                totals[t] += [np.sum(proposal_list[:last + 1] == 1), pred_recall[last]]
    return float(official_curve(totals[:, 0], totals[:, 1], faces)[0])


def _pycocotools_crowd(gts, dets, iou: float) -> float:
    """pycocotools directly, ignore regions as iscrowd annotations; AP over 'all' sizes, maxDets 1000."""
    ids = list(gts)
    anns = [{"image_id": k + 1, "category_id": 1, "iscrowd": int(b[4]), "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
             "area": (b[2] - b[0]) * (b[3] - b[1])} for k, i in enumerate(ids) for b in gts[i].tolist()]
    for n, ann in enumerate(anns):
        ann["id"] = n + 1
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": [{"id": k + 1} for k in range(len(ids))],
                           "categories": [{"id": 1, "name": "face"}], "annotations": anns}
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes([{"image_id": k + 1, "category_id": 1, "score": d[4],
                                    "bbox": [d[0], d[1], d[2] - d[0], d[3] - d[1]]}
                                   for k, i in enumerate(ids) for d in dets[i].tolist()])
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.iouThrs = np.array([iou])
        ev.params.maxDets = [1000]
        ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][0, :, 0, 0, -1]
    return float(np.mean(precision[precision > -1])) if (precision > -1).any() else float("nan")


@pytest.mark.parametrize("seed", range(6))
def test_official_ap_with_ignore_regions_equals_the_wider_tool(seed):
    gts, dets = _random_set(seed)
    for iou in IOUS:
        assert official_ap(gts, dets, iou).ap == pytest.approx(_wider_tool_ap(gts, dets, iou), abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_coco_ap_with_ignore_regions_equals_pycocotools_iscrowd(seed):
    gts, dets = _random_set(seed)
    ours = coco_ap(gts, dets, iou_thresholds=IOUS, size_edges=())
    for t, iou in enumerate(IOUS):
        assert ours.ap[0, t] == pytest.approx(_pycocotools_crowd(gts, dets, iou), abs=1e-12, nan_ok=True)


def test_a_detection_on_an_ignore_region_changes_nothing():
    gts = {"a": np.array([[10, 10, 30, 30, 0], [60, 60, 80, 80, 1]], float)}
    hit = np.array([[10, 10, 30, 30, 0.9], [100, 100, 120, 120, 0.5]])
    on_region = np.vstack([hit, [[61, 60, 80, 81, 0.95]]])
    without, with_region = (evaluate_detections(gts, {"a": d}, MetricSettings(resamples=0)) for d in (hit, on_region))
    for protocol in ("official", "coco"):
        for key in ("0.3", "0.5", "0.7"):
            a, b = without[protocol]["iou"][key], with_region[protocol]["iou"][key]
            a, b = (a["all"], b["all"]) if protocol == "coco" else (a, b)
            assert b["ap"] == pytest.approx(a["ap"], abs=1e-12), (protocol, key)
    assert with_region["num_faces"] == 1


def test_without_ignore_flags_the_fifth_column_changes_nothing():
    gts, dets = _random_set(7)
    plain = {k: v[:, :4] for k, v in gts.items()}
    flagged = {k: np.column_stack([v[:, :4], np.zeros(len(v))]) for k, v in gts.items()}
    settings = MetricSettings(resamples=20)
    assert evaluate_detections(flagged, dets, settings) == evaluate_detections(plain, dets, settings)


def test_score_on_wider_ground_truth_ignores_detections_on_invalid_faces(tmp_path):
    gt = tmp_path / "wider_face_val_bbx_gt.txt"
    gt.write_text(textwrap.dedent("""\
        0--Parade/0_Parade_1.jpg
        2
        10 10 20 20 0 0 0 0 0 0
        60 60 20 20 0 0 0 1 0 0
    """))
    (tmp_path / "pred" / "0--Parade").mkdir(parents=True)
    ap = {}
    for name, lines in (("hit", "10 10 30 30 0.9\n"), ("hit+ignored", "10 10 30 30 0.9\n60 60 80 80 0.95\n"),
                        ("hit+false", "10 10 30 30 0.9\n120 120 140 140 0.95\n")):
        (tmp_path / "pred" / "0--Parade" / "0_Parade_1.txt").write_text(lines)
        result = CliRunner().invoke(main, ["score", "--data", str(gt), "--pred", str(tmp_path / "pred"),
                                           "--bootstrap", "0"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("1 images, 1 faces")
        line = next(l for l in result.output.splitlines() if l.strip().startswith("official"))
        ap[name] = float(line.split("AP@0.5:")[1].split()[0])
    assert ap["hit"] == ap["hit+ignored"] == 1.0 and ap["hit+false"] < 1.0
