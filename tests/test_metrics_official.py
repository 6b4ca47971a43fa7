"""Official DARK FACE AP: the fixture's official value, and hand-computed cases."""
from pathlib import Path

import numpy as np
import pytest

from facebench.detections_io import read_detections
from facebench.metrics.official import SCORE_THRESHOLDS, iou_plus_one, normalise_scores, official_ap


def read_label_folder(folder: Path, ids: list) -> dict:
    """DARK FACE label files: first line N, then N lines `x1 y1 x2 y2`."""
    gts = {}
    for i in ids:
        lines = (folder / f"{i}.txt").read_text().split("\n")
        n = int(lines[0])
        gts[i] = np.array([[float(v) for v in line.split()[:4]] for line in lines[1:1 + n]]).reshape(-1, 4)
    return gts


def fixture_sets(shared: Path) -> tuple:
    spec = shared / "specs" / "darkface_eval"
    ids = [Path(line.strip()).stem for line in (spec / "file_list.txt").read_text().splitlines() if line.strip()]
    return read_label_folder(spec / "gt", ids), read_detections(spec / "pred", ids), spec


def test_fixture_reproduces_official_tool(shared):
    gts, dets, spec = fixture_sets(shared)
    expected = float((spec / "official_ap.txt").read_text().split()[0])
    assert official_ap(gts, dets, 0.5).ap == pytest.approx(expected, abs=1e-4)


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
