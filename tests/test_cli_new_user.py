"""What a new user trips over first (issue 10, "tried as a new user would"), one test per stumble.

The sweeps run on a 3-image DARK FACE-layout set made here with a tiny detector from a file, so each
test takes well under a second of model time; RetinaFace end to end is covered in test_cli_eval.py.
"""
import json
import re
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facebench.cli import main

REPO = Path(__file__).resolve().parents[1]

DETECTOR = textwrap.dedent("""
    import torch
    from facebench.plugin_api import Detector

    class BrightSquares(Detector):
        '''Two boxes per image scored by the image's mean brightness, so enhancers change the ranking.'''
        name = "bright-squares"

        def detect(self, images):
            out = []
            for image in images:
                level = float(image.mean())
                out.append(torch.tensor([[10.0, 10.0, 30.0, 30.0, level], [40.0, 8.0, 60.0, 28.0, 1.0 - level]]))
            return out
""")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 3-image dark set (image/<id>.png + label/<id>.txt) and the detector file."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "data" / "image").mkdir(parents=True)
    (root / "data" / "label").mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 4):
        image = rng.integers(0, 20 * i, size=(48, 72, 3), dtype=np.uint8)
        image[10:30, 10:30] += 40
        cv2.imwrite(str(root / "data" / "image" / f"{i}.png"), image)
        (root / "data" / "label" / f"{i}.txt").write_text("2\n10 10 30 30\n40 8 60 28\n" if i != 2 else "1\n10 10 30 30\n")
    (root / "detector.py").write_text(DETECTOR)
    return root


def _eval(tiny, tmp_path, *args):
    base = ["eval", "--data", str(tiny / "data"), "--detector", f"{tiny / 'detector.py'}:BrightSquares",
            "--qf", "90", "--device", "cpu", "--no-progress", "--out", str(tmp_path / "run"),
            "--cache-dir", str(tmp_path / "cache")]
    return CliRunner().invoke(main, base + list(args))


def _one_line_error(result) -> str:
    message = result.output.strip()
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output  # not a traceback
    assert message.startswith("Error") and len(message.splitlines()) == 1, message
    return message


def test_bootstrap_zero_prints_and_stores_no_interval(tiny, tmp_path):
    result = _eval(tiny, tmp_path, "--enhancer", "gamma", "--enhancer", "clahe", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    assert "CI [" not in result.output and "no intervals: --bootstrap 0" in result.output
    runs = json.loads((tmp_path / "run" / "results.json").read_text())["runs"]
    for run in runs[1:]:
        diff = run["vs_none"]["official"]["0.5"]
        assert diff["ci_low"] is None and diff["ci_high"] is None and diff["sign_flip_fraction"] is None
        expected = run["metrics"]["official"]["iou"]["0.5"]["ap"] - runs[0]["metrics"]["official"]["iou"]["0.5"]["ap"]
        assert diff["diff"] == pytest.approx(expected, abs=1e-12)
        assert f"{run['enhancer_spec']} - none @ QF 90: {expected:+.4f}" in result.output
    assert all(r["metrics"]["official"]["iou"]["0.5"]["ci"] is None for r in runs)


def test_cuda_without_a_gpu_is_one_line(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    message = _one_line_error(_eval(tiny, tmp_path, "--device", "cuda"))
    assert "--device" in message and "CUDA is not available" in message


def test_missing_weights_stop_the_sweep_before_any_image(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path / "empty_home"))
    message = _one_line_error(_eval(tiny, tmp_path, "--enhancer", "gamma", "--enhancer", "zerodce"))
    assert "--weights zerodce=PATH" in message and "--weights PATH" not in message
    assert not list((tmp_path / "cache").rglob("*.npy")), "images were processed before the weights were checked"


def test_missing_detector_weights_name_the_detector_flag(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path / "empty_home"))
    result = CliRunner().invoke(main, ["eval", "--data", str(tiny / "data"), "--detector", "pyramidbox",
                                       "--device", "cpu", "--no-progress", "--cache-dir", str(tmp_path / "cache")])
    message = _one_line_error(result)
    assert "--detector-weights" in message and "--weights PATH" not in message


def test_score_one_level_too_high_names_the_right_folder(tiny, tmp_path):
    assert _eval(tiny, tmp_path, "--enhancer", "gamma", "--bootstrap", "0").exit_code == 0
    for folder in (tmp_path / "run", tmp_path / "run" / "detections"):
        result = CliRunner().invoke(main, ["score", "--data", str(tiny / "data"), "--pred", str(folder)])
        message = _one_line_error(result)
        assert str(tmp_path / "run" / "detections" / "90" / "gamma") in message or \
            str(tmp_path / "run" / "detections" / "90" / "none") in message
    (tmp_path / "empty").mkdir()
    message = _one_line_error(CliRunner().invoke(main, ["score", "--data", str(tiny / "data"), "--pred",
                                                        str(tmp_path / "empty")]))
    assert "no <id>.txt prediction files" in message


def test_weights_for_gamma_is_one_clear_line(tiny, tmp_path):
    message = _one_line_error(_eval(tiny, tmp_path, "--enhancer", "gamma", "--weights", "gamma=x.pt"))
    assert "enhancer 'gamma' takes no weights" in message


def test_option_by_plugin_name_is_coerced_to_float(tiny, tmp_path):
    code = next(b for b in re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
                if "class LogCurve" in b)
    (tmp_path / "my_enhancer.py").write_text(code)
    result = _eval(tiny, tmp_path, "--enhancer", f"{tmp_path / 'my_enhancer.py'}:LogCurve",
                   "--enhancer-opt", "logcurve.k=5", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "run" / "results.json").read_text()
    settings = json.loads(text)["runs"][1]["enhancer"]["settings"]
    assert settings == {"k": 5.0} and isinstance(settings["k"], float) and '"k": 5.0' in text
    message = _one_line_error(_eval(tiny, tmp_path, "--enhancer", f"{tmp_path / 'my_enhancer.py'}:LogCurve",
                                    "--enhancer-opt", "log.k=5"))
    assert "NAME one of: logcurve" in message


def test_ground_truth_without_faces_is_scored(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    for i in (1, 2):
        (tmp_path / "gt" / f"{i}.txt").write_text("0\n")
        (tmp_path / "pred" / f"{i}.txt").write_text("1 1 5 5 0.3\n")
    result = CliRunner().invoke(main, ["score", "--data", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"),
                                       "--bootstrap", "10", "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert result.output.count("undefined (no ground-truth faces)") == 6
    assert json.loads((tmp_path / "m.json").read_text())["metrics"]["official"]["iou"]["0.5"]["ap"] is None


def test_rerun_says_it_reused_the_cache(tiny, tmp_path):
    assert "cached images" not in _eval(tiny, tmp_path, "--enhancer", "gamma", "--bootstrap", "0").output
    again = _eval(tiny, tmp_path, "--enhancer", "gamma", "--bootstrap", "0")
    assert again.exit_code == 0, again.output
    assert f"reused 6 cached images (computed 0; enhancer x QF x image) from {tmp_path / 'cache'}" in again.output


def test_eval_and_plot_name_their_figures_the_same_way(tiny, tmp_path):
    assert _eval(tiny, tmp_path, "--enhancer", "gamma", "--bootstrap", "0").exit_code == 0
    from_eval = sorted(p.name for p in (tmp_path / "run").glob("pr_*"))
    for path in (tmp_path / "run").glob("pr_*"):
        path.unlink()
    result = CliRunner().invoke(main, ["plot", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert from_eval == ["pr_official_iou0.5_QF90.pdf", "pr_official_iou0.5_QF90.png"]
    assert sorted(p.name for p in (tmp_path / "run").glob("pr_*")) == from_eval


def test_venv_is_ignored_and_readme_gives_a_cpu_only_install():
    assert ".venv/" in (REPO / ".gitignore").read_text().splitlines()
    readme = (REPO / "README.md").read_text()
    cpu_route = re.search(r"pip install torch==\S+ torchvision==\S+ --index-url \S+/whl/cpu", readme)
    assert cpu_route, "README: no CPU-only torch install"
    test_command = re.search(r"<!-- test-command -->\n```bash\n(.*?)\n```", readme, re.S).group(1)
    assert "index-url" not in test_command, "CI must keep the default install"
