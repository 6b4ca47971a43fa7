"""Dataset loaders: DARK FACE (+ labels only), REGDet, WIDER FACE, COCO; selection, clipping, hashing."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from facebench.datasets import DatasetError, load_dataset
from facebench.datasets.dataset import natural_key


def _png(path: Path, width: int = 40, height: int = 30, value: int = 60) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), value, np.uint8))
    return path


def _darkface(root: Path, labels: dict, images=None) -> Path:
    """labels: {id: label text}; images: ids that get a 40x30 PNG (default: all)."""
    (root / "label").mkdir(parents=True)
    for image_id, text in labels.items():
        (root / "label" / f"{image_id}.txt").write_text(text)
    for image_id in labels if images is None else images:
        _png(root / "image" / f"{image_id}.png")
    return root


def _error(path, match: str, **kwargs) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(match), message
    return message


# ---------------------------------------------------------------- DARK FACE

def test_darkface_loads_in_natural_order_with_empty_images(tmp_path):
    root = _darkface(tmp_path / "df", {"10": "1\n1 2 11 12\n", "2": "0\n", "1": "2\n0 0 5 6\n3 4 40 30\n"})
    data = load_dataset(root)
    assert (data.format, data.name, data.synthetic) == ("darkface", "df", False)
    assert [s.image_id for s in data] == ["1", "2", "10"]
    assert data[0].boxes.dtype == np.float64 and data[0].boxes.shape == (2, 4)
    np.testing.assert_array_equal(data[2].boxes, [[1, 2, 11, 12]])
    assert data[1].boxes.shape == (0, 4)
    assert data[0].image_path == root / "image" / "1.png"
    assert data.num_faces == 3
    with pytest.raises(ValueError):
        data[0].boxes[0, 0] = 5  # read-only


def test_limit_and_ids(tmp_path):
    root = _darkface(tmp_path / "df", {str(i): "0\n" for i in (1, 2, 10, 11, 3)})
    assert [s.image_id for s in load_dataset(root, limit=3)] == ["1", "2", "3"]
    assert [s.image_id for s in load_dataset(root, ids=["11", "2"])] == ["2", "11"]
    assert [s.image_id for s in load_dataset(root, ids=["11", "2", "10"], limit=2)] == ["2", "10"]
    _error(root, f"{root}: unknown image id(s) 7, 99", ids=["2", "99", "7"])
    assert sorted(["b10", "b2", "a", "B1"], key=natural_key) == ["a", "B1", "b2", "b10"]


@pytest.mark.parametrize("text, line, what", [
    ("2\n1 2 3 4\n", 1, "count says 2 face(s) but 1 box line(s)"),
    ("1\n1 2 3 4\n5 6 7 8\n", 1, "count says 1 face(s) but 2 box line(s)"),
    ("1\n1 2 3\n", 2, "'1 2 3' is not a box"),
    ("1\n1 2 x 4\n", 2, "'1 2 x 4' is not a box"),
    ("1\n5 2 5 4\n", 2, "box (5 2 5 4) has x2 <= x1"),
    ("2\n0 0 1 1\n5 9 6 4\n", 3, "box (5 9 6 4) has y2 <= y1"),
    ("two\n", 1, "'two' is not a face count"),
    ("\n", 1, "empty label file"),
])
def test_darkface_label_errors_name_file_and_line(tmp_path, text, line, what):
    root = _darkface(tmp_path / "df", {"1": "0\n", "7": text})
    message = _error(root, f"{root / 'label' / '7.txt'}:{line}: {what}")
    assert "expected" in message


def test_darkface_pairing_errors(tmp_path):
    root = _darkface(tmp_path / "a", {"1": "0\n", "2": "0\n"}, images=["1"])
    _error(root, f"{root / 'label' / '2.txt'}: no image for id 2")
    root = _darkface(tmp_path / "b", {"1": "0\n"}, images=["1", "3"])
    _error(root, f"{root / 'image' / '3.png'}: no label for this image; expected {root / 'label' / '3.txt'}")
    root = _darkface(tmp_path / "c", {"1": "0\n"}, images=[])
    _error(root, f"{root}: no image/ or images/ folder")


def test_unreadable_image_is_named(tmp_path):
    root = _darkface(tmp_path / "df", {"1": "1\n1 1 5 5\n"}, images=[])
    (root / "images").mkdir()
    (root / "images" / "1.png").write_bytes(b"not a png")
    _error(root, f"{root / 'images' / '1.png'}: cannot read image header")


def test_boxes_outside_the_image_are_clipped_with_a_warning(tmp_path):
    root = _darkface(tmp_path / "df", {"1": "3\n-5 2 10 12\n30 20 45 35\n50 0 60 10\n"})  # image is 40x30
    with pytest.warns(UserWarning, match=r"label/1\.txt: 3 box\(es\) reach outside the 40x30 image 1\.png.*1 entirely"):
        data = load_dataset(root)
    np.testing.assert_array_equal(data[0].boxes, [[0, 2, 10, 12], [30, 20, 40, 30]])


def test_labels_only_folder(tmp_path):
    root = tmp_path / "gt"
    root.mkdir()
    (root / "5.txt").write_text("1\n1 2 3 4\n")
    (root / "12.txt").write_text("0\n")
    data = load_dataset(root, require_images=False)
    assert data.format == "darkface-labels"
    assert [(s.image_id, s.image_path) for s in data] == [("5", None), ("12", None)]
    _error(root, f"{root}: labels only, no images")
    data = load_dataset(_darkface(tmp_path / "df", {"1": "0\n"}, images=[]), require_images=False)
    assert data[0].image_path is None


def test_content_hash_follows_ids_boxes_and_image_sizes(tmp_path):
    root = _darkface(tmp_path / "df", {"1": "1\n1 2 3 4\n", "2": "0\n"})
    first = load_dataset(root).content_hash()
    assert first == load_dataset(root).content_hash() and len(first) == 64
    assert load_dataset(root, limit=1).content_hash() != first
    _png(root / "image" / "2.png", width=400)
    second = load_dataset(root).content_hash()
    assert second != first
    full = load_dataset(root).content_hash(full=True)
    _png(root / "image" / "2.png", width=400, value=61)  # same byte size, other pixels
    assert load_dataset(root).content_hash() == second
    assert load_dataset(root).content_hash(full=True) != full
    (root / "label" / "1.txt").write_text("1\n1 2 3 5\n")
    assert load_dataset(root).content_hash() != second


def test_unrecognised_paths(tmp_path):
    _error(tmp_path / "missing", f"{tmp_path / 'missing'}: no such file or folder")
    (tmp_path / "empty").mkdir()
    _error(tmp_path / "empty", f"{tmp_path / 'empty'}: folder without label/")
    (tmp_path / "x.csv").write_text("a,b\n")
    _error(tmp_path / "x.csv", f"{tmp_path / 'x.csv'}: unknown file type '.csv'")
    (tmp_path / "x.txt").write_text("hello world\n")
    _error(tmp_path / "x.txt", f"{tmp_path / 'x.txt'}:1: neither")


# ---------------------------------------------------------------- REGDet

def test_regdet_file_with_images_beside_it(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("10.png 2 1 2 3 4 1 5 6 7 8 1\n2.png 0\n")
    _png(tmp_path / "images" / "10.png")
    _png(tmp_path / "images" / "2.png")
    _png(tmp_path / "images" / "99.png")  # in the folder, not listed: ignored
    data = load_dataset(path)
    assert (data.format, data.name) == ("regdet", "train")
    assert [s.image_id for s in data] == ["2", "10"]
    np.testing.assert_array_equal(data[1].boxes, [[1, 2, 4, 6], [5, 6, 12, 14]])
    assert data[1].image_path == tmp_path / "images" / "10.png"


@pytest.mark.parametrize("lines, line, what", [
    ("1.png 1 1 2 3 4 1\n2.png 2 1 2 3 4 1\n", 2, "count says 2 face(s) but 5 numbers follow"),
    ("1.png 1 1 2 3 4 1\n2.png x 1 2 3 4 1\n", 2, "'2.png x 1' does not start with 'name N'"),
    ("1.png 1 1 2 3 4 1\n\n2.png 1 1 2 a 4 1\n", 3, "non-numeric box field"),
    ("1.png 1 1 2 0 4 1\n", 1, "box (1 2 1 6) has x2 <= x1"),
    ("1.png 1 1 2 3 4 1\n1.png 0\n", 2, "image 1.png is listed again (first on line 1)"),
    ("1.png 1 1 2 3 4 1\n3.png 0\n", 2, "image 3.png not found; expected"),
])
def test_regdet_errors(tmp_path, lines, line, what):
    path = tmp_path / "labels.txt"
    path.write_text(lines)
    for name in ("1", "2"):
        _png(tmp_path / "image" / f"{name}.png")
    _error(path, f"{path}:{line}: {what}")


def test_regdet_without_images(tmp_path):
    path = tmp_path / "test.txt"
    path.write_text("4.png 1 1 2 3 4 1\n")
    _error(path, f"{path}:1: image 4.png not found; expected it in")
    assert load_dataset(path, require_images=False)[0].image_path is None


# ---------------------------------------------------------------- WIDER FACE

_WIDER = """0--Parade/0_Parade_1.jpg
2
10 20 30 40 0 0 0 0 0 0
1 1 0 0 0 0 0 1 0 0
1--Handshaking/1_Handshaking_2.jpg
0
0 0 0 0 0 0 0 0 0 0
"""


def _wider(tmp_path: Path, text: str) -> Path:
    split = tmp_path / "wider_face_split"
    split.mkdir()
    path = split / "wider_face_val_bbx_gt.txt"
    path.write_text(text)
    _png(tmp_path / "WIDER_val" / "images" / "0--Parade" / "0_Parade_1.jpg", 100, 100)
    _png(tmp_path / "WIDER_val" / "images" / "1--Handshaking" / "1_Handshaking_2.jpg", 100, 100)
    return path


def test_wider_keeps_invalid_faces_as_ignore_regions_and_reads_empty_images(tmp_path):
    data = load_dataset(_wider(tmp_path, _WIDER))
    assert data.format == "wider"
    assert [s.image_id for s in data] == ["0--Parade/0_Parade_1", "1--Handshaking/1_Handshaking_2"]
    np.testing.assert_array_equal(data[0].boxes, [[10, 20, 40, 60]])
    np.testing.assert_array_equal(data[0].ignore, [[1, 1, 1, 1]])
    assert data.num_faces == 1 and data[1].boxes.shape == (0, 4) and data[1].ignore.shape == (0, 4)
    gts = data.ground_truth()
    np.testing.assert_array_equal(gts["0--Parade/0_Parade_1"], [[10, 20, 40, 60, 0], [1, 1, 1, 1, 1]])
    assert gts["1--Handshaking/1_Handshaking_2"].shape == (0, 4)
    assert data[1].image_path == tmp_path / "WIDER_val" / "images" / "1--Handshaking" / "1_Handshaking_2.jpg"


@pytest.mark.parametrize("old, new, line, what", [
    ("\n2\n", "\nmany\n", 2, "'many' is not a face count"),
    ("\n2\n", "\n3\n", 5, "'1--Handshaking/1_Handshaking_2.jpg' is not a face line"),
    ("10 20 30 40 0", "10 20 30", 3, "'10 20 30 0 0 0 0 0' is not a face line"),
    ("10 20 30 40 0", "10 20 30 -4 0", 3, "box (10 20 40 16) has y2 <= y1"),
    ("0\n0 0 0 0 0 0 0 0 0 0\n", "0\n", 7, "'end of file' is not a face line"),
])
def test_wider_errors(tmp_path, old, new, line, what):
    path = _wider(tmp_path, _WIDER.replace(old, new, 1))
    _error(path, f"{path}:{line}: {what}")


# ---------------------------------------------------------------- COCO

def _coco(tmp_path: Path, **changes) -> Path:
    data = {
        "images": [{"id": 7, "file_name": "b.png", "width": 40, "height": 30},
                   {"id": 3, "file_name": "a.png", "width": 40, "height": 30}],
        "annotations": [{"id": 1, "image_id": 7, "bbox": [1, 2, 3.5, 4], "category_id": 1},
                        {"id": 2, "image_id": 7, "bbox": [5, 5, 5, 5], "category_id": 2},
                        {"id": 3, "image_id": 7, "bbox": [0, 0, 9, 9], "category_id": 1, "iscrowd": 1}],
        "categories": [{"id": 1, "name": "Face"}, {"id": 2, "name": "person"}],
    }
    data.update(changes)
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data, indent=1))
    _png(tmp_path / "images" / "a.png")
    _png(tmp_path / "images" / "b.png")
    return path


def test_coco_face_category_crowd_and_empty_images(tmp_path):
    data = load_dataset(_coco(tmp_path))
    assert data.format == "coco"
    assert [s.image_id for s in data] == ["a", "b"]
    assert data[0].boxes.shape == (0, 4)
    np.testing.assert_array_equal(data[1].boxes, [[1, 2, 4.5, 6]])
    assert data[1].image_path == tmp_path / "images" / "b.png"


def test_coco_errors(tmp_path):
    path = _coco(tmp_path, annotations=[{"image_id": 7, "bbox": [1, 2, 0, 4], "category_id": 1}])
    _error(path, f"{path}: annotations[0]: box (1 2 1 6) has x2 <= x1")
    path = _coco(tmp_path, annotations=[{"image_id": 99, "bbox": [1, 2, 3, 4], "category_id": 1}])
    _error(path, f"{path}: annotations[0]: image_id 99 is not in 'images'")
    path = _coco(tmp_path, annotations=[{"image_id": 7, "bbox": [1, 2], "category_id": 1}])
    _error(path, f"{path}: annotations[0]: bbox [1, 2] is not 4 numbers")
    path = _coco(tmp_path, categories=[{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}])
    _error(path, f"{path}: categories (cat, dog) have no single 'face'")
    path.write_text('{"images": [\n  {"id": 1,,}\n]}')
    _error(path, f"{path}:2: invalid JSON")
    path.write_text('{"images": []}')
    _error(path, f"{path}: not a COCO json")


# ---------------------------------------------------------------- real data (../shared)

def test_real_darkface_sample(shared):
    data = load_dataset(shared / "data" / "darkface_sample")
    assert (len(data), data.num_faces) == (10, 62)
    assert [s.image_id for s in data] == [str(i) for i in range(1, 11)]
    np.testing.assert_array_equal(data[0].boxes, [[808, 258, 916, 374], [559, 339, 585, 375], [487, 335, 516, 368]])


def test_real_regdet_labels_of_all_6000_images(shared):
    folder = shared / "data" / "darkface_labels_all6000"
    train = load_dataset(folder / "train.txt", require_images=False)
    test = load_dataset(folder / "test.txt", require_images=False)
    assert (len(train), len(test)) == (5000, 1000)
    assert train.num_faces + test.num_faces == 43849  # the spec's count for the 6,000 labelled images
    assert {s.image_id for s in train}.isdisjoint(s.image_id for s in test)
    assert max(len(s.boxes) for s in (*train, *test)) == 34
    # REGDet x, y, w, h gives exactly the official DARK FACE label file's x1 y1 x2 y2
    sample = load_dataset(shared / "data" / "darkface_sample")
    both = {s.image_id: s.boxes for s in (*train, *test)}
    for s in sample:
        np.testing.assert_array_equal(both[s.image_id], s.boxes)


def test_real_ground_truth_folder(shared):
    data = load_dataset(shared / "specs" / "darkface_eval" / "gt", require_images=False)
    assert len(data) == 60 and data.format == "darkface-labels"
