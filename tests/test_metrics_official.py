"""Official DARK FACE AP: the fixture's official value, a slow reference, hand-computed cases."""
import numpy as np
import pytest

from facebench.metrics.official import SCORE_THRESHOLDS, iou_plus_one, normalise_scores, official_ap
from metric_cases import adversarial, fixture_sets, synthetic


def _octave_iou(gt: list, box: list) -> float:
    """The tool's boxoverlap for one face and one prediction, in plain floats (its order of operations)."""
    w = min(gt[2], box[2]) - max(gt[0], box[0]) + 1
    h = min(gt[3], box[3]) - max(gt[1], box[1]) + 1
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((gt[2] - gt[0] + 1) * (gt[3] - gt[1] + 1) + (box[2] - box[0] + 1) * (box[3] - box[1] + 1) - inter)


def reference_official_ap(gts: dict, dets: dict, iou_threshold: float) -> float:
    """specs/darkface_eval/README.md steps 1-6 written out, one image and one prediction at a time."""
    scores = [s for d in dets.values() for s in d[:, 4].tolist()]
    low, high = min(scores), max(scores)
    proposals, recalled, faces = np.zeros(1000), np.zeros(1000), 0
    for key, gt in gts.items():
        faces += len(gt)
        pred = dets.get(key, np.zeros((0, 5)))
        if not len(gt) or not len(pred):
            continue
        pred = pred[np.argsort(-pred[:, 4], kind="stable")]
        norm = (pred[:, 4] - low) / (high - low) if high > low else pred[:, 4] - (low - 1)
        hit, pred_recall = np.zeros(len(gt)), []
        for box in pred.tolist():
            overlaps = [_octave_iou(g, box) for g in gt.tolist()]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= iou_threshold:
                hit[best] = 1
            pred_recall.append(hit.sum())
        for t, thr in enumerate(SCORE_THRESHOLDS):
            above = np.flatnonzero(norm >= thr)
            if len(above):
                proposals[t] += len(above)
                recalled[t] += pred_recall[above[-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision, recall = recalled / proposals, recalled / faces
    mrec = np.concatenate([[0], recall, [1]])
    mpre = np.concatenate([[0], precision, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = np.fmax(mpre[i], mpre[i + 1])  # Octave's max() skips NaN
    i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))


def test_fixture_reproduces_official_tool(shared):
    gts, dets, spec = fixture_sets(shared)
    expected = float((spec / "official_ap.txt").read_text().split()[0])
    assert round(official_ap(gts, dets, 0.5).ap, 6) == expected  # the tool prints 6 decimals


def test_perfect_detector_is_one():
    gts = {"a": np.array([[0, 0, 9, 9], [20, 20, 35, 40.0]]), "b": np.array([[5, 5, 12, 14.0]]), "c": np.zeros((0, 4))}
    dets = {k: np.concatenate([g, np.linspace(0.9, 0.5, len(g))[:, None]], axis=1) for k, g in gts.items()}
    for iou in (0.3, 0.5, 0.7):
        assert official_ap(gts, dets, iou).ap == pytest.approx(1.0)


def test_no_detections_is_zero():
    gts = {"a": np.array([[0, 0, 9, 9.0]])}
    result = official_ap(gts, {}, 0.5)
    assert result.ap == 0.0
    assert np.isnan(result.precision).all() and (result.recall == 0).all()


def test_hand_worked_two_images():
    # A: faces g1, g2; detections: g1 (1.0), duplicate of g1 (0.75), false positive (0.5).
    # B: face g3; detections: g3 (0.25), false positive (0.0). Scores already span [0, 1].
    # t > 0.75: P 1/1, R 1/3 | t > 0.5: 1/2 | t > 0.25: 1/3 | t > 0: (1+1)/(3+1) = 1/2, R 2/3 | t = 0: 2/5.
    # Envelope: 1 at R 1/3, 1/2 at R 2/3 -> AP = 1/3 * 1 + 1/3 * 1/2 = 1/2.
    gts = {"A": np.array([[0, 0, 9, 9], [20, 0, 29, 9.0]]), "B": np.array([[0, 0, 9, 9.0]])}
    dets = {"A": np.array([[0, 0, 9, 9, 1.0], [0, 0, 9, 9, 0.75], [50, 50, 59, 59, 0.5]]),
            "B": np.array([[0, 0, 9, 9, 0.25], [60, 60, 69, 69, 0.0]])}
    result = official_ap(gts, dets, 0.5)
    assert result.ap == pytest.approx(0.5, abs=1e-12)
    k = {t: int(np.argmin(np.abs(SCORE_THRESHOLDS - t))) for t in (0.8, 0.75, 0.5, 0.25, 0.0)}
    at = [k[0.8], k[0.75], k[0.5], k[0.25], k[0.0]]
    assert result.precision[at] == pytest.approx([1, 1 / 2, 1 / 3, 1 / 2, 2 / 5])
    assert result.recall[[k[0.8], k[0.25]]] == pytest.approx([1 / 3, 2 / 3])


def test_best_face_only_and_no_gt_images_add_nothing():
    # The duplicate's best face (IoU 1) is already recalled, so it recalls nothing although it overlaps
    # g2 with IoU 0.47 >= 0.3 (COCO would match it to g2). Image "empty" has no faces: its detection is
    # not a proposal, but its score still enters the normalisation.
    gts = {"a": np.array([[0, 0, 10, 10], [4, 0, 14, 10.0]]), "empty": np.zeros((0, 4))}
    dets = {"a": np.array([[0, 0, 10, 10, 1.0], [0, 0, 10, 10, 0.5]]), "empty": np.array([[0, 0, 5, 5, 0.0]])}
    result = official_ap(gts, dets, 0.3)
    assert result.ap == pytest.approx(0.5)
    assert result.precision[-1] == pytest.approx(0.5)  # t = 0: 2 proposals, 1 recalled


def test_iou_plus_one_and_normalisation():
    iou = iou_plus_one(np.array([[0, 0, 9, 9.0], [10, 0, 19, 9], [0, 0, 4, 9]]), np.array([[0, 0, 9, 9.0]]))
    assert iou[:, 0] == pytest.approx([1.0, 0.0, 0.5])  # 10x10 px boxes; touching edge = no overlap
    same = normalise_scores({"a": np.array([[0, 0, 1, 1, 3.0]]), "b": np.array([[0, 0, 1, 1, 3.0]])})
    assert same["a"][0, 4] == 1.0 and same["b"][0, 4] == 1.0
    spread = normalise_scores({"a": np.array([[0, 0, 1, 1, -2.0]]), "b": np.array([[0, 0, 1, 1, 6.0]])})
    assert (spread["a"][0, 4], spread["b"][0, 4]) == (0.0, 1.0)


def test_bad_input_names_the_image():
    with pytest.raises(ValueError, match="'x'"):
        official_ap({"a": np.zeros((0, 4))}, {"x": np.array([[0, 0, 1, 1, 0.5]])})
    with pytest.raises(ValueError, match="detections of image 'a'"):
        official_ap({"a": np.zeros((0, 4))}, {"a": np.array([[0, 0, 1, 1]])})


@pytest.mark.parametrize("seed", range(6))
def test_equals_the_slow_reference(seed):
    gts, dets = adversarial(seed) if seed % 2 else synthetic(seed)
    for iou in (0.3, 0.5, 0.7):
        assert official_ap(gts, dets, iou).ap == pytest.approx(reference_official_ap(gts, dets, iou), abs=1e-12)


def test_degenerate_boxes_are_scored_like_the_tool():
    # An inverted box on the face is a proposal that recalls nothing; a box inverted by less than one
    # pixel still has a +1-pixel extent: [0.4, 0, 0, 9] overlaps the 1-px-wide face [0, 0, 0, 9] with
    # w = 0 - 0.4 + 1 = 0.6, IoU 6 / (6 + 10 - 6) = 0.6, so it recalls it at IoU 0.5.
    gts = {"a": np.array([[10, 10, 19, 19.0]]), "b": np.array([[0, 0, 0, 9.0]])}
    dets = {"a": np.array([[19, 19, 10, 10, 1.0], [10, 10, 10, 19, 0.5], [10, 10, 19, 19, 0.0]]),
            "b": np.array([[0.4, 0, 0, 9, 0.75]])}
    assert iou_plus_one(dets["b"][:, :4], gts["b"])[0, 0] == pytest.approx(0.6)
    result = official_ap(gts, dets, 0.5)
    k = {t: int(np.argmin(np.abs(SCORE_THRESHOLDS - t))) for t in (0.8, 0.75, 0.5, 0.0)}
    # t > 0.75: 1 proposal, 0 recalled | t = 0.75: 2, 1 | t = 0.5: 3, 1 | t = 0: 4, 2 (of 2 faces)
    assert result.precision[[k[0.8], k[0.75], k[0.5], k[0.0]]] == pytest.approx([0, 1 / 2, 1 / 3, 1 / 2])
    assert result.ap == pytest.approx(1 / 2 * 1 / 2 + 1 / 2 * 1 / 2)
    assert result.ap == pytest.approx(reference_official_ap(gts, dets, 0.5), abs=1e-12)
