"""The paired-folder reader: matching by name, clear errors, the seeded split, and the shared SICE folder."""
import cv2
import numpy as np
import pytest

from facebench.datasets.dataset import DatasetError
from facebench.pairs import ImagePair, find_pairs, read_pair, split_pairs


def _write(path, h=12, w=10, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), value, np.uint8))


def test_pairs_matched_by_name(tmp_path):
    for name in ("b", "a"):
        _write(tmp_path / "low" / f"{name}.png", value=10)
        _write(tmp_path / "high" / f"{name}.jpg", value=200)
    pairs = find_pairs(tmp_path)
    assert [p.name for p in pairs] == ["a", "b"]
    low, high = read_pair(pairs[0])
    assert low.shape == high.shape == (12, 10, 3) and low.dtype == np.uint8
    assert low.max() == 10 and abs(int(high.mean()) - 200) <= 1


def test_unmatched_and_missing_folder_errors(tmp_path):
    _write(tmp_path / "low" / "a.png")
    with pytest.raises(DatasetError, match="no high/ folder"):
        find_pairs(tmp_path)
    _write(tmp_path / "high" / "b.png")
    with pytest.raises(DatasetError, match="a.png: no image of the same name"):
        find_pairs(tmp_path)


def test_size_mismatch_is_an_error(tmp_path):
    _write(tmp_path / "low" / "a.png", 12, 10)
    _write(tmp_path / "high" / "a.png", 12, 11)
    with pytest.raises(DatasetError, match="differs from its reference"):
        read_pair(find_pairs(tmp_path)[0])


def test_split_is_seeded_and_order_free():
    pairs = [ImagePair(f"{i:03d}", None, None) for i in range(20)]
    train, val = split_pairs(pairs, 0.2, seed=3)
    assert len(val) == 4 and len(train) == 16 and not {p.name for p in train} & {p.name for p in val}
    assert split_pairs(pairs[::-1], 0.2, seed=3) == (train, val)
    assert split_pairs(pairs, 0.2, seed=4)[1] != val


def test_shared_sice_layout(shared):
    pairs = find_pairs(shared / "data" / "paired" / "sice_part1")
    assert len(pairs) == 125 and pairs[0].name == "001"
