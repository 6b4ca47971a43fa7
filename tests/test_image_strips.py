"""Image strips: reproducible choice of images, crop windows, drawing, and re-created enhancers."""
import json

import numpy as np
import pytest

from facebench.image_strips import (DET_COLOR, GT_COLOR, choose_images, crop_window, draw_tile, faces_found,
                                    image_gains)
from facebench.plugins import build_enhancer
from facebench.strip_sources import StripSourceError, _rebuild

GT = np.array([[10, 10, 20, 22], [40, 40, 52, 52], [100, 10, 110, 20]], dtype=np.float64)


def test_faces_found_counts_faces_hit_above_the_score():
    dets = np.array([[10, 10, 20, 22, 0.9],     # exact hit
                     [41, 41, 53, 53, 0.2],     # hit, but scores below 0.5
                     [100, 10, 104, 20, 0.8],   # IoU 0.4: no hit
                     [11, 11, 21, 23, 0.7]])    # second hit on face 0: counted once
    assert faces_found(GT, dets, 0.5) == 1
    assert faces_found(GT, dets, 0.1) == 2
    assert faces_found(GT, np.zeros((0, 5)), 0.5) == 0 and faces_found(np.zeros((0, 4)), dets, 0.5) == 0


def test_gains_and_choice_are_reproducible():
    gts = {str(i): GT for i in range(1, 8)}
    hit = np.column_stack([GT, np.full(3, 0.9)])
    base = {i: hit[:1] for i in gts}  # the baseline finds one face everywhere
    better = {**base, "3": hit, "6": hit[:2]}  # +2 on image 3, +1 on image 6
    worse = {**base, "5": np.zeros((0, 5))}  # -1 on image 5
    dets = {("90", "none"): base, ("90", "a"): better, ("90", "b"): worse}
    gains = image_gains(gts, dets, "none", 0.5)
    assert gains["3"] == 1.0 and gains["6"] == 0.5 and gains["5"] == -0.5 and gains["1"] == 0.0
    chosen = choose_images(gains)
    assert [(c.role, c.image_id) for c in chosen] == [("largest gain", "3"), ("largest loss", "5"), ("median", "2")]
    assert choose_images(dict(reversed(list(gains.items())))) == chosen
    assert [c.image_id for c in choose_images({"1": 0.0, "2": 0.0})] == ["1", "2"]
    assert image_gains(gts, {("90", "none"): base}, "none", 0.5) == {i: 0.0 for i in gts}


def test_crop_window_holds_the_most_faces_inside_the_image():
    gt = np.array([[10, 100, 20, 110], [30, 100, 40, 112], [50, 102, 60, 112], [600, 300, 610, 310]], dtype=float)
    x1, y1, x2, y2 = crop_window(gt, 640, 480)
    assert (x2 - x1, y2 - y1) == (120, 80) and x1 >= 0 and y1 >= 0
    inside = (gt[:, 0] >= x1) & (gt[:, 2] <= x2) & (gt[:, 1] >= y1) & (gt[:, 3] <= y2)
    assert inside.tolist() == [True, True, True, False]
    big = np.array([[100, 100, 160, 160]], dtype=float)
    x1, y1, x2, y2 = crop_window(big, 200, 150)
    assert x2 - x1 == 200 and y2 - y1 == 133 and y2 <= 150
    assert crop_window(np.zeros((0, 4)), 640, 480) == (260, 200, 380, 280)


def test_draw_tile_enlarges_and_draws_boxes_outside_the_faces():
    image = np.full((60, 90, 3), 7, dtype=np.uint8)
    gt = np.array([[10, 10, 20, 20]], dtype=float)
    dets = np.array([[30, 30, 40, 40, 0.9], [50, 10, 60, 20, 0.1]])
    tile = draw_tile(image, (0, 0, 90, 60), gt, dets, 0.5, 3)
    assert tile.shape == (180, 270, 3)
    assert tuple(tile[29, 40]) == GT_COLOR and tuple(tile[89, 100]) == DET_COLOR
    assert (tile[30:60, 30:60] == 7).all(), "the face's own pixels stay visible"
    assert (tile[30:60, 150:180] == 7).all(), "a detection below the score is not drawn"


def test_rebuild_matches_recorded_settings_and_refuses_other_weights():
    recorded = build_enhancer("gamma", options={"": {"gamma": 0.5}}).identity()
    assert _rebuild("gamma", recorded, "cpu").identity() == recorded
    as_stored = json.loads(json.dumps(build_enhancer("msrcr").identity()))  # tuples are lists in results.json
    assert _rebuild("msrcr", as_stored, "cpu").name == "msrcr"
    chain = build_enhancer("gamma+clahe").identity()
    assert _rebuild("gamma+clahe", chain, "cpu").identity() == chain
    deblock = build_enhancer("deblock").identity()
    changed = {**deblock, "weights": {**deblock["weights"], "sha256": "0" * 64}}
    with pytest.raises(StripSourceError, match="--save-enhanced"):
        _rebuild("deblock", changed, "cpu")
