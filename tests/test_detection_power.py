"""Power of a paired comparison (`facebench.metrics.power`) and its script on a real run directory."""
import numpy as np
import pytest
from click.testing import CliRunner

from facebench.cli import main as facebench_main
from facebench.datasets import load_dataset
from facebench.experiments import detection_power
from facebench.metrics.bootstrap import prepare
from facebench.metrics.power import comparison_power
from facebench.metrics.settings import MetricSettings
from facebench.run_dirs import open_run
from metric_cases import synthetic

SETTINGS = MetricSettings(iou_thresholds=(0.5,), size_edges=(), resamples=200)


def _prepared(gts, *det_sets):
    return [prepare(gts, dets, SETTINGS) for dets in det_sets]


def _grid_faces(images: int, faces: int) -> dict:
    """`images` images with `faces` disjoint 20 px faces each."""
    x = np.arange(faces, dtype=float)[:, None] * 40
    return {str(i): np.hstack([x, x, x + 20, x + 20]) for i in range(images)}


def test_identical_sets_are_never_significant():
    gts, dets = synthetic(1, images=20)
    p = comparison_power(*_prepared(gts, dets, dets), n=20, sets=30, resamples=200)
    assert (p.above, p.below, p.diff_mean, p.ci_width) == (0, 0, 0, 0)


def test_a_set_better_on_every_image_is_significant_in_every_set():
    gts = _grid_faces(12, 4)
    rng = np.random.default_rng(0)
    full = {i: np.hstack([b, rng.uniform(0.5, 1, (4, 1))]) for i, b in gts.items()}
    half = {i: np.vstack([d[:2], [[300, 300, 320, 320, 0.99]]]) for i, d in full.items()}
    p = comparison_power(*_prepared(gts, half, full), n=12, sets=30, resamples=200)
    assert p.above == 1 and p.below == 0
    assert p.diff_mean > 0.4  # official AP of `half` is at most 0.5, of `full` 1


def test_power_grows_with_the_number_of_images_and_is_seeded():
    gts, dets = synthetic(3, images=30)
    worse = {i: (d[:0] if int(i) % 6 == 0 else d) for i, d in dets.items()}  # misses every face on 1 image in 6
    sets = _prepared(gts, dets, worse)
    small, large = (comparison_power(*sets, n=n, sets=60, resamples=200, seed=1) for n in (5, 60))
    assert small.below < 0.7 and large.below > 0.95
    assert small.ci_width > large.ci_width and large.above == 0
    assert comparison_power(*sets, n=5, sets=60, resamples=200, seed=1) == small


def test_bad_arguments_are_refused():
    gts, dets = synthetic(2, images=6)
    a, b = _prepared(gts, dets, dets)
    with pytest.raises(ValueError, match="n, sets and resamples >= 1"):
        comparison_power(a, b, n=0)
    other = prepare({k: v for k, v in gts.items() if k != "0"}, {k: v for k, v in dets.items() if k != "0"}, SETTINGS)
    with pytest.raises(ValueError, match="different images"):
        comparison_power(a, other, n=5)


@pytest.mark.usefixtures("one_thread")
def test_script_reports_the_power_of_a_run(tmp_path):
    data, run = tmp_path / "demo", tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(facebench_main, ["demo-data", str(data), "--count", "3"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(facebench_main, ["eval", "--data", str(data), "--enhancer", "gamma", "--qf", "90",
                                            "--bootstrap", "0", "--out", str(run), "--no-progress"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(detection_power.main, [str(run), "--b", "gamma", "--n", "6", "--sets", "20",
                                                  "--resamples", "50", "--seed", "4"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    lines = result.output.splitlines()
    rows = [line.strip("|").split("|") for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert [int(r[0]) for r in rows] == [3, 6]
    gts, opened = load_dataset(str(data)).ground_truth(), open_run(run)
    settings = MetricSettings(iou_thresholds=(0.5,), size_edges=(), resamples=50, seed=4)
    sets = [prepare(gts, opened.detections("90", spec), settings) for spec in ("none", "gamma")]
    for row, n in zip(rows, (3, 6)):
        p = comparison_power(*sets, n=n, sets=20, resamples=50, seed=4)
        assert row[1].strip() == f"{p.diff_mean:+.3f}" and row[3].strip() == f"{p.above:.0%}"
    label = data / "label" / "1.txt"
    first, box, *others = label.read_text().split("\n")
    x1, *rest = box.split()
    label.write_text("\n".join([first, " ".join([str(int(x1) + 1), *rest]), *others]))  # a box moves 1 px
    result = runner.invoke(detection_power.main, [str(run), "--b", "gamma", "--sets", "2", "--resamples", "5"])
    assert result.exit_code != 0 and "the dataset changed since the run" in result.output


def test_script_refuses_a_run_without_runs(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    result = CliRunner().invoke(detection_power.main, [str(tmp_path), "--b", "mlsm"])
    assert result.exit_code != 0 and "no runs recorded" in result.output
