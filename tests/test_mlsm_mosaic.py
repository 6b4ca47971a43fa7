"""MLSM's mosaic training pairs: whole photos shrunk into a grid so objects are as small as in DARK FACE."""
import cv2
import numpy as np
import pytest

from facebench.mlsm.data import DataConfig, TrainingData

_PHOTO_SIDE, _SQUARE = 320, 40


def _photo() -> np.ndarray:
    """A grey 320 px photo with one bright 40 px square (the 'face')."""
    photo = np.full((_PHOTO_SIDE, _PHOTO_SIDE, 3), 30, np.uint8)
    photo[140:140 + _SQUARE, 140:140 + _SQUARE] = 230
    return photo


def _data(mosaic: float, crop: int = 96) -> TrainingData:
    config = DataConfig(crop=crop, max_side=0, scale_range=(1.0, 1.0), qfs=(100,), mosaic=mosaic,
                        test_count=0, val_count=0)
    return TrainingData(config, synthetic=[_photo()])


def _squares(target: np.ndarray) -> list:
    """Side lengths (px) of the bright squares in a target crop."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((target[..., 0] > 130).astype(np.uint8))
    return [int(max(w, h)) for _, _, w, h, _ in stats[1:count]]


def test_mosaic_targets_hold_n_by_n_whole_photos_shrunk_to_their_cell():
    data, grids = _data(1.0), set()
    for step in range(30):
        dark, target = data._synthetic_pair(np.random.default_rng([0, step]))
        assert dark.shape == target.shape == (96, 96, 3)
        sides = _squares(target)
        n = int(round(len(sides) ** 0.5))
        assert len(sides) == n * n and n in (1, 2, 3)          # one square per cell: every cell is a whole photo
        expected = _SQUARE * (96 / n) / _PHOTO_SIDE             # 12, 6 or 4 px
        assert all(abs(side - expected) <= 1 for side in sides)
        grids.add(n)
    assert grids == {1, 2, 3}


def test_without_mosaic_crops_keep_the_photo_scale():
    data, whole = _data(0.0), 0
    for step in range(40):
        _, target = data._synthetic_pair(np.random.default_rng([0, step]))
        count, _, stats, _ = cv2.connectedComponentsWithStats((target[..., 0] > 130).astype(np.uint8))
        for x, y, w, h, _ in stats[1:count]:
            if x > 0 and y > 0 and x + w < 96 and y + h < 96:   # not cut by the crop's border
                assert (w, h) == (_SQUARE, _SQUARE)
                whole += 1
    assert whole > 0


@pytest.mark.parametrize("bad", [-0.5, 2.0])
def test_mosaic_outside_zero_one_is_a_one_line_error(bad):
    with pytest.raises(ValueError, match=r"mosaic must be a share in \[0, 1\]"):
        DataConfig(mosaic=bad)
