"""The three experiments of experiments/ end to end on tiny configurations (RetinaFace, `none` + `gamma`):
table7 and qf_curve on a 2-image `facebench demo-data` set, exposure on 2 AFW photos from ../shared.

Checks: each writes its run directory, report.html and results.md; every number in results.md equals the
run's results.json; the darkened AFW levels load as DARK FACE folders with the photos' boxes scaled and
get monotonically darker.
"""
import json
import re
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facebench.cli import main as facebench_main
from facebench.datasets import DatasetError, load_dataset
from facebench.evaluation import ap_entry, difference_entry
from facebench.experiments import exposure, qf_curve, table7
from facebench.datasets.afw import downscale, read_afw
from facebench.experiments.darkened_afw import write_levels
from facebench.experiments.results_markdown import verdict

_NUMBER = re.compile(r"[+-]?\d+\.\d{4}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A 2-image SYNTHETIC set written by `facebench demo-data`."""
    out = tmp_path_factory.mktemp("experiments") / "demo"
    result = CliRunner().invoke(facebench_main, ["demo-data", str(out), "--count", "2"])
    assert result.exit_code == 0, result.output
    return out


def _run(command, *args) -> None:
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)


def _tables(markdown: str) -> Dict[str, List[List[str]]]:
    """Caption (the paragraph above a table) -> body rows as lists of cells."""
    tables, caption, rows = {}, None, []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            tables[caption], rows = rows[2:], []  # header and separator dropped
        if line.strip() and not line.startswith("|"):
            caption = line.strip()
    return tables


def _numbers(cell: str) -> List[float]:
    return [float(v) for v in _NUMBER.findall(cell)]


def _check_ap_table(rows, columns, iou: float) -> None:
    """Each cell "AP [low, high]" equals the AP and its CI in results.json (4 decimals)."""
    for row in rows:
        for cell, (results, qf) in zip(row[1:], columns):
            run = next(r for r in results["runs"] if r["enhancer_spec"] == row[0] and r["qf"] == qf)
            entry = ap_entry(run["metrics"], "official", iou)
            assert _numbers(cell) == pytest.approx([entry["ap"], *entry["ci"]], abs=5e-5), (row[0], qf, iou)


def _check_difference_table(rows, columns) -> None:
    for row in rows:
        for cell, (results, qf) in zip(row[1:], columns):
            run = next(r for r in results["runs"] if r["enhancer_spec"] == row[0] and r["qf"] == qf)
            diff = difference_entry(run["vs_none"], "official", 0.5)
            assert _numbers(cell) == pytest.approx([diff["diff"], diff["ci_low"], diff["ci_high"]], abs=5e-5)
            assert ("**" in cell) == (verdict(diff) in ("better", "worse"))


@pytest.mark.usefixtures("one_thread")
def test_table7_writes_report_and_results_md_equal_to_results_json(demo, tmp_path):
    out = tmp_path / "table7"
    _run(table7.main, "--data", demo, "--out", out, "--enhancer", "gamma", "--qf", "90", "--bootstrap", "20")
    results = json.loads((out / "results.json").read_text())
    assert results["enhancers"] == ["none", "gamma"] and results["qfs"] == ["90"]
    assert (out / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
    tables = _tables((out / "results.md").read_text())
    columns = [(results, "90")]
    for iou in (0.5, 0.3, 0.7):
        caption = f"Official AP@{iou:g}" + (" [95% bootstrap CI]:" if iou == 0.5 else ":")
        _check_ap_table(tables[caption], columns, iou)
    difference = next(rows for caption, rows in tables.items() if caption.startswith("Paired difference"))
    _check_difference_table(difference, columns)
    steps = (out / "commands.txt").read_text().splitlines()
    assert any(s.startswith("facebench eval --data") for s in steps)
    assert any(s.startswith("facebench report") for s in steps)


@pytest.mark.usefixtures("one_thread")
def test_qf_curve_draws_the_curve_and_tabulates_every_iou(demo, tmp_path):
    out = tmp_path / "qf_curve"
    _run(qf_curve.main, "--data", demo, "--out", out, "--enhancer", "gamma", "--qf", "raw", "--qf", "90",
         "--bootstrap", "20", "--no-strips")
    results = json.loads((out / "results.json").read_text())
    assert results["qfs"] == ["raw", "90"]
    figure = cv2.imread(str(out / f"{qf_curve.FIGURES}_qf.png"))
    assert figure is not None and figure.shape[1] > 400
    tables = _tables((out / "results.md").read_text())
    columns = [(results, "raw"), (results, "90")]
    _check_ap_table(tables["Official AP@0.5 [95% bootstrap CI]:"], columns, 0.5)
    _check_ap_table(tables["Official AP@0.7:"], columns, 0.7)
    assert "report.html" in (out / "commands.txt").read_text()


def test_downscale_scales_boxes_with_the_image():
    rgb = np.zeros((100, 200, 3), np.uint8)
    small, boxes = downscale(rgb, np.array([[20.0, 10.0, 100.0, 90.0]]), 50)
    assert small.shape == (25, 50, 3)
    np.testing.assert_allclose(boxes, [[5.0, 2.5, 25.0, 22.5]])
    same, kept = downscale(rgb, np.array([[1.0, 2.0, 3.0, 4.0]]), 400)
    assert same is rgb and kept.tolist() == [[1.0, 2.0, 3.0, 4.0]]


def test_read_afw_errors_name_the_file(tmp_path):
    path = tmp_path / "afw.json"
    path.write_text('[{"file": "images/a.jpg", "boxes_xyxy": [[5, 5, 1, 9]]}]')
    with pytest.raises(DatasetError, match=r"afw\.json: entry 0: boxes .* not all x1 < x2"):
        read_afw(path)
    path.write_text('[{"file": "images/missing.jpg", "boxes_xyxy": []}]')
    with pytest.raises(DatasetError, match=r"afw\.json: entry 0: image .*missing\.jpg not found"):
        read_afw(path)
    path.write_text("{")
    with pytest.raises(DatasetError, match=r"afw\.json:1: invalid JSON"):
        read_afw(path)


def test_darkened_levels_load_as_darkface_get_darker_and_keep_the_boxes(shared, tmp_path):
    afw = shared / "data" / "afw" / "afw_faces_xyxy.json"
    photos = read_afw(afw)[:2]
    levels = write_levels(photos, (0.04, 0.01, 0.005), tmp_path, max_side=200, seed=0, source=str(afw))
    measured = []
    for level in levels:
        dataset = load_dataset(level.folder)
        assert [s.image_id for s in dataset.samples] == [p.image_id for p in photos] and not dataset.synthetic
        for sample, photo in zip(dataset.samples, photos):
            height, width = cv2.imread(str(sample.image_path)).shape[:2]
            assert max(height, width) == 200
            scale = 200 / max(cv2.imread(str(photo.path)).shape[:2])
            np.testing.assert_allclose(sample.boxes, photo.boxes * scale, atol=0.006)
        means = [cv2.imread(str(s.image_path)).mean() / 255 for s in dataset.samples]
        assert np.mean(means) == pytest.approx(level.measured, abs=1e-9)
        measured.append(level.measured)
    assert measured[0] > measured[1] > measured[2]
    assert measured[0] == pytest.approx(0.04, rel=0.2)


@pytest.mark.usefixtures("one_thread")
def test_exposure_end_to_end_on_two_afw_photos(shared, tmp_path):
    out = tmp_path / "exposure"
    _run(exposure.main, "--afw", shared / "data" / "afw" / "afw_faces_xyxy.json", "--out", out, "--images", 2,
         "--max-side", 160, "--level", 0.04, "--level", 0.005, "--qf", "raw", "--enhancer", "gamma",
         "--bootstrap", "10", "--no-strips")
    summary = json.loads((out / "exposure.json").read_text())
    assert [level["target"] for level in summary["levels"]] == [0.04, 0.005]
    assert summary["levels"][0]["measured"] > summary["levels"][1]["measured"]
    results = [json.loads((Path(level["run"]) / "results.json").read_text()) for level in summary["levels"]]
    assert all(r["dataset"]["images"] == 2 for r in results)
    tables = _tables((out / "results.md").read_text())
    columns = [(r, "raw") for r in results]
    _check_ap_table(tables["Official AP@0.5 [95% bootstrap CI]:"], columns, 0.5)
    _check_difference_table(tables["Paired difference AP@0.5 - AP@0.5(none) [95% paired bootstrap CI]:"], columns)
    assert cv2.imread(str(out / "ap_vs_exposure.png")) is not None
    assert (out / "report.html").stat().st_size > 10_000
