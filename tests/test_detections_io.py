"""Official per-image detection files: exact round trip, atomic writes, one-line errors, degenerate boxes."""
import warnings

import numpy as np
import pytest

from facebench.detections_io import (DegenerateBoxWarning, read_detection_file, read_detections,
                                     write_detection_file, write_detections)


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
    ("1 2 3 4 0.5 6", r"bad\.txt:2: expected 5 numbers"),
    ("1 2 3 4 x", r"bad\.txt:2: expected 5 numbers"),
    ("1 2 3 4 nan", r"bad\.txt:2: NaN"),
    ("1 2 3 -inf 0.5", r"bad\.txt:2: NaN or infinite"),
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


def test_bulk_read_equals_file_by_file_and_names_the_bad_file(tmp_path):
    rng = np.random.default_rng(1)
    for k in range(6):
        rows = rng.random((int(rng.integers(0, 5)), 5)) * 100
        rows[:, 2:4] = rows[:, :2] + 1 + rows[:, 2:4]
        (tmp_path / f"{k}.txt").write_text("\n".join(" ".join(repr(v) for v in r) for r in rows.tolist()) + "\n\n")
    bulk = read_detections(tmp_path)
    assert list(bulk) == [str(k) for k in range(6)]
    for k in range(6):
        np.testing.assert_array_equal(bulk[str(k)], read_detection_file(tmp_path / f"{k}.txt"))
    (tmp_path / "4.txt").write_text("1 2 3 4 0.5\n\n1 2 3 4 nan\n")
    (tmp_path / "5.txt").write_text("1 2 3 4\n")
    with pytest.raises(ValueError, match=r"4\.txt:3: NaN"):
        read_detections(tmp_path)


def test_degenerate_boxes_are_read_and_reported_once(tmp_path):
    (tmp_path / "a.txt").write_text("1 1 5 5 0.9\n")
    (tmp_path / "b.txt").write_text("1 1 5 5 0.9\n\n9 1 5 5 0.8\n3 3 3 8 0.7\n")
    (tmp_path / "c.txt").write_text("4 9 8 2 0.1\n")
    reports = []
    dets = read_detections(tmp_path, on_degenerate=reports.append)
    np.testing.assert_array_equal(dets["b"][1:], [[9, 1, 5, 5, 0.8], [3, 3, 3, 8, 0.7]])
    assert len(reports) == 1 and reports[0].count == 3 and reports[0].first == f"{tmp_path / 'b.txt'}:3"
    message = reports[0].message()
    assert "\n" not in message and "3 detection(s)" in message and "b.txt:3" in message
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_detections(tmp_path)
    assert [w.category for w in caught] == [DegenerateBoxWarning]
