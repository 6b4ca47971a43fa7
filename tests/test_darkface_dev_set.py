"""The real DARK FACE development set: label parsing, label-set matching, and the set written from ../shared."""
import numpy as np
import pytest

from facebench.datasets import DatasetError, load_dataset
from facebench.datasets.darkface import label_text, read_label_file
from facebench.experiments.darkface_dev_set import IDENTIFIED, rank_label_sets, read_official_labels, write_dev_set


def _label_folder(tmp_path, train_lines, test_lines=("9.png 1 0 0 10 10 1",)):
    (tmp_path / "train.txt").write_text("\n".join(train_lines) + "\n")
    (tmp_path / "test.txt").write_text("\n".join(test_lines) + "\n")
    return tmp_path


def test_official_labels_are_xywh_turned_into_corners(tmp_path):
    labels = read_official_labels(_label_folder(tmp_path, ["1.png 2 10 20 30 40 1 5 6 7 8 1"]))
    assert labels["1.png"].tolist() == [[10, 20, 40, 60], [5, 6, 12, 14]]
    assert labels["9.png"].tolist() == [[0, 0, 10, 10]]


def test_a_malformed_label_line_names_file_and_line(tmp_path):
    folder = _label_folder(tmp_path, ["1.png 1 10 20 30 40 1", "2.png 2 10 20 30 40 1"])
    with pytest.raises(DatasetError, match=r"train.txt:2: count says 2 face\(s\) but 5 numbers follow"):
        read_official_labels(folder)


def test_the_label_set_with_most_matched_detections_ranks_first():
    labels = {"a.png": np.array([[0, 0, 10, 10], [50, 50, 60, 60.]]),
              "b.png": np.array([[0, 0, 10, 10], [100, 100, 120, 120], [200, 0, 220, 20.]]),
              "c.png": np.array([[300, 300, 310, 310.]])}
    detections = np.array([[1, 1, 10, 10], [101, 99, 121, 120], [205, 0, 225, 20.]])
    assert rank_label_sets(detections, labels) == [(3, "b.png"), (1, "a.png"), (0, "c.png")]
    assert rank_label_sets(np.zeros((0, 4)), labels) == []


def test_label_text_is_darkface_layout_and_reads_back(tmp_path):
    boxes = np.array([[808, 258, 916, 374.], [1.5, 2, 3, 4]])
    assert label_text(boxes) == "2\n808 258 916 374\n1.5 2 3 4\n"
    (tmp_path / "1.txt").write_text(label_text(boxes))
    assert np.array_equal(read_label_file(tmp_path / "1.txt"), boxes)
    assert label_text(np.zeros((0, 4))) == "0\n"


def test_dev_set_from_shared_is_four_real_frames_with_21_faces(shared, tmp_path):
    data = shared / "data"
    labels = read_official_labels(data / "darkface_labels_all6000")
    faces = write_dev_set(data / "dark_real" / "darkface_unlabelled", labels, tmp_path / "dev")
    dataset = load_dataset(str(tmp_path / "dev"))
    assert faces == 21 and len(dataset) == 4
    assert sorted(p.name for p in (tmp_path / "dev" / "image").iterdir()) == sorted(IDENTIFIED.values())
    # none of them is one of the 10 test images
    assert not set(IDENTIFIED.values()) & {p.name for p in (data / "darkface_sample" / "image").iterdir()}
