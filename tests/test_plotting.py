"""Shared figures (`facebench.plotting`) and `facebench plot`: axes fit the data, legends cover no curve."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from facebench import plotting
from facebench.cli import main
from facebench.evaluation import compare_runs, evaluate_detections

SPECS = ("none", "gamma", "clahe")
QFS = ("90", "60")


def _detections(gts, found_fraction, rng):
    """Detections hitting about `found_fraction` of the faces (jittered boxes) plus two false positives per image."""
    dets = {}
    for image_id, gt in gts.items():
        hits = gt[rng.random(len(gt)) < found_fraction] + rng.normal(0, 0.5, size=(1, 4))
        false = np.array([[5, 5, 25, 25], [200, 10, 230, 40]], dtype=np.float64)
        boxes = np.concatenate([hits, false])
        dets[image_id] = np.column_stack([boxes, rng.uniform(0.05, 1.0, len(boxes))])
    return dets


@pytest.fixture(scope="module")
def results():
    """A results.json-shaped dict: 3 enhancers x 2 QFs on 12 images, recall below 0.5 as on DARK FACE."""
    rng = np.random.default_rng(0)
    gts = {}
    for i in range(12):
        xy = rng.uniform(30, 180, size=(5, 2))
        gts[str(i + 1)] = np.column_stack([xy, xy + rng.uniform(8, 40, size=(5, 1))])
    runs = []
    for qf in QFS:
        per_spec = {spec: _detections(gts, 0.2 + 0.1 * k, rng) for k, spec in enumerate(SPECS)}
        for spec, dets in per_spec.items():
            run = {"qf": qf, "enhancer_spec": spec, "metrics": evaluate_detections(gts, dets, bootstrap=50)}
            if spec != "none":
                run["vs_none"] = compare_runs(gts, dets, per_spec["none"], bootstrap=50)
            runs.append(run)
    return {"synthetic_data": False, "qfs": list(QFS), "enhancers": list(SPECS), "runs": runs,
            "detector": {"name": "fake"}}


def _max_recall(results):
    return max(max(r["metrics"]["official"]["iou"]["0.5"]["recall"]) for r in results["runs"])


def _legend_clear_of_axes(fig):
    fig.canvas.draw()
    legends = fig.legends or [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends, "figure has no legend"
    box = legends[0].get_window_extent()
    for ax in fig.axes:
        if ax.get_visible():
            assert not box.overlaps(ax.get_window_extent()), "legend overlaps an axes"


def test_axis_limit_and_qf_order():
    assert plotting.axis_limit([0.12, 0.41, None]) == pytest.approx(0.5)
    assert plotting.axis_limit([0.0]) == pytest.approx(0.1)
    assert plotting.axis_limit([0.99]) == 1.0
    assert plotting.axis_limit([0.3], step=0.05) == pytest.approx(0.35)
    assert plotting.qf_order(["60", "raw", "90", "100", "60"]) == ["raw", "100", "90", "60"]


def test_pr_figure_recall_axis_fits_the_curves(results):
    recall = _max_recall(results)
    assert recall < 0.6
    figures = plotting.pr_figures([results])
    assert set(figures) == {"QF 90", "QF 60"}
    for fig in figures.values():
        ax = fig.axes[0]
        low, high = ax.get_xlim()
        assert low == 0 and recall <= high <= recall + 0.15 and high < 1
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert len(labels) == 3 and all("(AP " in label for label in labels)
        _legend_clear_of_axes(fig)
        plotting.plt.close(fig)


def test_ap_vs_qf_size_and_forest_figures(results):
    qf_fig = plotting.ap_vs_qf_figure(results)
    assert len(qf_fig.axes) == 3
    ax = qf_fig.axes[1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["90", "60"]
    assert len(ax.lines) == 3 and len(ax.collections) == 3  # a line and a CI band per enhancer
    tops = [c for r in results["runs"] for c in r["metrics"]["official"]["iou"]["0.5"]["ci"]]
    assert max(tops) <= ax.get_ylim()[1] <= max(tops) + 0.1
    _legend_clear_of_axes(qf_fig)
    size_fig = plotting.size_figure(results)
    assert sum(ax.get_visible() for ax in size_fig.axes) == 2
    _legend_clear_of_axes(size_fig)
    forest = plotting.forest_figure(results)
    ticks = zip(forest.axes[0].get_yticks(), [t.get_text() for t in forest.axes[0].get_yticklabels()])
    top_down = [label for _, label in sorted(ticks, reverse=True)]
    assert top_down == ["gamma @ QF 90", "clahe @ QF 90", "gamma @ QF 60", "clahe @ QF 60"]
    diff = results["runs"][1]["vs_none"]["official"]["0.5"]
    point = forest.axes[1].lines[1].get_xydata()[0]  # gamma @ QF 90: the second plotted object
    assert point[0] == pytest.approx(diff["diff"])
    for fig in (qf_fig, size_fig, forest):
        plotting.plt.close(fig)


def test_forest_needs_a_comparison_and_tolerates_missing_intervals(results):
    single = {**results, "enhancers": ["none"], "runs": [r for r in results["runs"] if r["enhancer_spec"] == "none"]}
    assert plotting.forest_figure(single) is None
    no_ci = json.loads(json.dumps(results))
    for run in no_ci["runs"]:
        for entry in run.get("vs_none", {}).get("official", {}).values():
            entry["ci_low"] = entry["ci_high"] = None
    fig = plotting.forest_figure(no_ci)
    assert fig is not None
    plotting.plt.close(fig)


def test_plot_command_writes_pr_and_summary_figures(results, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "results.json").write_text(json.dumps(results))
    out = CliRunner().invoke(main, ["plot", str(run_dir), "--summary", "--out", str(tmp_path / "fig" / "p")])
    assert out.exit_code == 0, out.output
    names = sorted(p.name for p in (tmp_path / "fig").iterdir())
    assert names == sorted(f"p{part}{ext}" for part in ("_iou0.5_QF90", "_iou0.5_QF60", "_qf", "_size", "_forest")
                           for ext in (".png", ".pdf"))
    bad = CliRunner().invoke(main, ["plot", str(tmp_path / "fig")])
    assert bad.exit_code != 0 and "results.json: not found" in bad.output
