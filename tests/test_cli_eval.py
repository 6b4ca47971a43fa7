"""`facebench eval` end to end (real RetinaFace) and the commands that read its run directory."""
import json
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from facebench.cli import main
from facebench.datasets import load_dataset
from facebench.detections_io import read_detections

PLUGIN = textwrap.dedent("""
    from facebench.plugin_api import Enhancer

    class DoubleBrightness(Enhancer):
        name = "double-brightness"

        def enhance(self, images):
            return (images * 2).clamp(0, 1)
""")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One sweep: two enhancers (a built-in and a plugin file outside the package) at QF 90, 4 images."""
    tmp = tmp_path_factory.mktemp("eval")
    plugin = tmp / "outside" / "my_enhancer.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN)
    out = tmp / "run"
    args = ["eval", "--limit", "4", "--enhancer", "none", "--enhancer", f"{plugin}:DoubleBrightness",
            "--qf", "90", "--out", str(out), "--cache-dir", str(tmp / "cache"), "--bootstrap", "100",
            "--workers", "0", "--device", "cpu", "--no-progress"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {"out": out, "output": result.output, "args": args, "plugin": plugin,
            "results": json.loads((out / "results.json").read_text())}


def test_prints_three_aps_per_enhancer_and_says_synthetic(run):
    assert "SYNTHETIC" in run["output"]
    line = next(l for l in run["output"].splitlines() if l.startswith("none "))
    values = [float(v) for v in line.split(":")[1].split()[:3]]
    assert all(0 <= v <= 1 for v in values) and values[0] >= values[1] >= values[2]
    assert values[1] > 0.1, "RetinaFace should find some of the synthetic faces"


def test_results_json_carries_provenance(run):
    r = run["results"]
    assert r["synthetic_data"] is True and r["dataset"]["images"] == 4
    assert len(r["dataset"]["content_sha256"]) == 64
    assert r["detector"]["name"] == "retinaface" and len(r["detector"]["weights"]["sha256"]) == 64
    assert r["detector"]["settings"]["score_threshold"] <= 0.05
    env = r["environment"]
    assert env["packages"]["torch"] and env["packages"]["facebench"] and env["device"] == "cpu"
    assert "git_revision" in env and r["seed"] == 0 and r["qfs"] == ["90"]
    specs = [run_["enhancer_spec"] for run_ in r["runs"]]
    assert specs[0] == "none" and specs[1].endswith("my_enhancer.py:DoubleBrightness")
    assert r["runs"][1]["enhancer"]["name"] == "double-brightness"
    assert "vs_none" in r["runs"][1]
    for run_ in r["runs"]:
        assert run_["timings"]["images_computed"] == 4
        assert run_["metrics"]["official"]["iou"]["0.5"]["ci"] is not None


def test_csv_has_a_row_per_enhancer_qf_iou_protocol(run):
    lines = (run["out"] / "results.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 2 * 1 * 3 * 2


def test_plots_written(run):
    assert (run["out"] / "pr_official_iou0.5_QF90.png").stat().st_size > 1000
    assert (run["out"] / "pr_official_iou0.5_QF90.pdf").stat().st_size > 1000


def test_coco_ap_equals_pycocotools_run_directly_on_the_detection_files(run):
    dataset = load_dataset(None, limit=4)
    dets = read_detections(run["out"] / "detections" / "90" / "none")
    ids = {s.image_id: i + 1 for i, s in enumerate(dataset.samples)}
    gt = {"images": [{"id": i} for i in ids.values()], "categories": [{"id": 1, "name": "face"}],
          "annotations": [{"id": n + 1, "image_id": ids[s.image_id], "category_id": 1, "iscrowd": 0,
                           "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "area": (b[2] - b[0]) * (b[3] - b[1])}
                          for n, (s, b) in enumerate((s, b) for s in dataset.samples for b in s.boxes)]}
    coco = COCO()
    coco.dataset = gt
    coco.createIndex()
    res = coco.loadRes([{"image_id": ids[k], "category_id": 1, "bbox": [d[0], d[1], d[2] - d[0], d[3] - d[1]],
                         "score": d[4]} for k, v in dets.items() for d in v])
    ev = COCOeval(coco, res, "bbox")
    ev.params.iouThrs = np.array([0.3, 0.5, 0.7])
    ev.params.maxDets = [1000]
    ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]
    ev.evaluate()
    ev.accumulate()
    precision = ev.eval["precision"][:, :, 0, 0, 0]
    direct = [float(np.mean(p[p > -1])) for p in precision]
    ours = [run["results"]["runs"][0]["metrics"]["coco"]["iou"][k]["all"]["ap"] for k in ("0.3", "0.5", "0.7")]
    np.testing.assert_allclose(ours, direct, rtol=0, atol=1e-12)  # detection files round-trip float64 exactly


def test_score_command_reproduces_the_official_ap_from_the_files(run, tmp_path):
    labels = load_dataset(None).root / "label"
    for sample in load_dataset(None, limit=4).samples:  # a labels-only ground-truth folder of the 4 images
        (tmp_path / f"{sample.image_id}.txt").write_text((labels / f"{sample.image_id}.txt").read_text())
    result = CliRunner().invoke(main, ["score", "--data", str(tmp_path), "--pred",
                                       str(run["out"] / "detections" / "90" / "none"), "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    line = next(l for l in result.output.splitlines() if l.strip().startswith("official"))
    ap = float(line.split("AP@0.5:")[1].split()[0])
    assert ap == pytest.approx(run["results"]["runs"][0]["metrics"]["official"]["iou"]["0.5"]["ap"], abs=1e-4)


def test_rerun_reuses_the_cache(run, tmp_path):
    args = [a if a != str(run["out"]) else str(tmp_path / "again") for a in run["args"]]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert all(r["timings"]["images_computed"] == 0 for r in again["runs"])
    assert again["runs"][0]["metrics"]["official"] == run["results"]["runs"][0]["metrics"]["official"]


def test_other_qf_or_detector_setting_is_not_served_from_the_cache(run, tmp_path):
    args = [a for a in run["args"]]
    args[args.index("--out") + 1] = str(tmp_path / "qf80")
    args[args.index("--qf") + 1] = "80"
    args += ["--detector-opt", "score_threshold=0.02"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "qf80" / "results.json").read_text())
    assert all(r["timings"]["images_computed"] == 4 for r in again["runs"])
    assert again["detector"]["settings"]["score_threshold"] == 0.02


def test_plot_command_draws_from_run_directories(run, tmp_path):
    result = CliRunner().invoke(main, ["plot", str(run["out"]), "--iou", "0.7", "--by", "qf", "--out",
                                       str(tmp_path / "fig")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fig_iou0.7_none.png").is_file()


def test_bad_dataset_gives_one_line_error(tmp_path):
    (tmp_path / "image").mkdir()
    (tmp_path / "label").mkdir()
    (tmp_path / "label" / "1.txt").write_text("2\n10 10 20 20\n")
    import cv2

    cv2.imwrite(str(tmp_path / "image" / "1.png"), np.zeros((32, 32, 3), np.uint8))
    result = CliRunner().invoke(main, ["eval", "--data", str(tmp_path), "--no-progress"])
    assert result.exit_code != 0
    message = result.output.strip()
    assert message.startswith("Error:") and "1.txt" in message and len(message.splitlines()) == 1


def test_unknown_enhancer_gives_one_line_error():
    result = CliRunner().invoke(main, ["eval", "--enhancer", "nosuch", "--limit", "1", "--no-progress"])
    assert result.exit_code != 0 and "unknown enhancer 'nosuch'" in result.output


def test_list_shows_weight_status():
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    assert "retinaface" in result.output and "weights:" in result.output and "clahe" in result.output


def test_enhance_writes_pngs_of_the_same_size(tmp_path):
    dataset = load_dataset(None, limit=2)
    src = dataset.samples[0].image_path.parent
    result = CliRunner().invoke(main, ["enhance", "--enhancer", "gamma+clahe", "--qf", "80", str(src),
                                       str(tmp_path / "out"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    from facebench.datasets import read_image

    out = read_image(tmp_path / "out" / (dataset.samples[0].image_path.stem + ".png"))
    original = read_image(dataset.samples[0].image_path)
    assert out.shape == original.shape and out.mean() > original.mean()


def test_eval_on_real_darkface_images(shared, tmp_path):
    data = shared / "data" / "darkface_sample"
    result = CliRunner().invoke(main, ["eval", "--data", str(data), "--ids", "1,3", "--enhancer", "none", "--qf", "raw",
                                       "--out", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache"),
                                       "--bootstrap", "20", "--workers", "0", "--no-progress"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" not in result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    expected_faces = sum(int((data / "label" / f"{i}.txt").read_text().split()[0]) for i in ("1", "3"))
    assert results["dataset"]["faces"] == expected_faces and results["dataset"]["format"] == "darkface"
    assert results["synthetic_data"] is False and results["qfs"] == ["raw"]
    metrics = results["runs"][0]["metrics"]
    assert metrics["num_detections"] > 0
    assert all(0 <= metrics["official"]["iou"][k]["ap"] <= 1 for k in ("0.3", "0.5", "0.7"))
    assert sorted(p.name for p in (tmp_path / "run" / "detections" / "raw" / "none").iterdir()) == ["1.txt", "3.txt"]
