"""Official per-image detection files: exact round trip, atomic writes, one-line errors."""
import numpy as np
import pytest

from facebench.detections_io import read_detection_file, read_detections, write_detection_file, write_detections


def test_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    dets = {"1": np.concatenate([rng.random((7, 2)) * 100, 100 + rng.random((7, 2)) * 100, rng.random((7, 1))], 1),
            "2": np.zeros((0, 5))}
    write_detections(tmp_path / "out", dets)
    back = read_detections(tmp_path / "out")
    assert set(back) == {"1", "2"} and back["2"].shape == (0, 5)
    np.testing.assert_array_equal(back["1"], dets["1"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["1.txt", "2.txt"]  # no temporary left


def test_selected_ids_and_missing_files(tmp_path):
    write_detection_file(tmp_path / "5.txt", np.array([[1, 2, 3, 4, 0.5]]))
    assert list(read_detections(tmp_path, ["5", "6"])) == ["5"]
    with pytest.raises(FileNotFoundError, match="detections folder"):
        read_detections(tmp_path / "nope")


@pytest.mark.parametrize("line, message", [
    ("1 2 3 4", r"bad\.txt:2: expected 5 numbers"),
    ("1 2 3 4 x", r"bad\.txt:2: expected 5 numbers"),
    ("5 2 3 4 0.5", r"bad\.txt:2: x2 < x1"),
    ("1 2 3 4 nan", r"bad\.txt:2: NaN"),
])
def test_errors_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(f"1 2 3 4 0.9\n{line}\n")
    with pytest.raises(ValueError, match=message):
        read_detection_file(path)


def test_reads_the_official_layout_with_blank_lines(tmp_path):
    path = tmp_path / "3.txt"
    path.write_text("404.1 401.7 410.7 405.8 0.206992\n\n  374.8\t414.8 381.4 420.9 0.402678  \n")
    np.testing.assert_array_equal(read_detection_file(path)[:, 4], [0.206992, 0.402678])
