"""The Table V/VI sweep keeps each variant's row keyed by its training command, so a sweep longer than a
session continues where it stopped and never reuses a row measured under another budget."""
import json
import shlex

import click
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facebench.experiments import mlsm_ablations


def _paired_folder(root):
    for side in ("low", "high"):
        (root / side).mkdir(parents=True)
        for name in ("a", "b"):
            cv2.imwrite(str(root / side / f"{name}.png"), np.full((32, 32, 3), 40, np.uint8))
    return root


def _sweep_args(tmp_path, *extra):
    darkface = tmp_path / "darkface"
    darkface.mkdir(exist_ok=True)
    return ["--out", str(tmp_path / "runs"), "--results", str(tmp_path / "rows"),
            "--paired", str(_paired_folder(tmp_path / "pairs")), "--darkface", str(darkface),
            "--test-count", "1", "--vae-steps", "2", "--steps", "3", *extra]


def _row(variant, psnr):
    return {"variant": variant, "psnr@90": psnr, "ssim@90": 0.5, "psnr_b@90": psnr,
            "psnr@60": psnr - 1, "ssim@60": 0.4, "psnr_b@60": psnr - 1, "ap50": 0.25}


def _command(tmp_path, variant, vae_steps=2, steps=3):
    data = ["--paired", str(tmp_path / "pairs"), "--test-count", "1", "--perceptual", "ssim", "--no-progress"]
    budget = ["--vae-steps", str(vae_steps), "--steps", str(steps)]
    return shlex.join(mlsm_ablations._train_command(tmp_path / "runs" / variant, variant, data, budget))


def test_a_saved_row_is_returned_only_for_the_same_command_and_dark_face_folder(tmp_path):
    path = tmp_path / "k3.json"
    assert mlsm_ablations._saved_row(path, {"command": "c", "darkface": "d"}) is None
    path.write_text(json.dumps({"command": "c", "darkface": "d", "row": _row("k3", 18.0)}))
    assert mlsm_ablations._saved_row(path, {"command": "c", "darkface": "d"})["psnr@90"] == 18.0
    with pytest.raises(click.ClickException, match="k3.json: measured for .*use another --results"):
        mlsm_ablations._saved_row(path, {"command": "c --steps 9", "darkface": "d"})


def test_measured_variants_are_not_retrained_and_the_table_holds_every_saved_row(tmp_path, monkeypatch):
    rows = tmp_path / "rows"
    rows.mkdir()
    darkface = str(tmp_path / "darkface")
    for variant, psnr in (("k3", 18.0), ("no-mapping", 16.5)):
        (rows / f"{variant}.json").write_text(json.dumps(
            {"command": _command(tmp_path, variant), "darkface": darkface, "row": _row(variant, psnr)}))

    def no_training(*args, **kwargs):
        raise AssertionError(f"trained again: {args}")
    monkeypatch.setattr(mlsm_ablations.subprocess, "run", no_training)
    result = CliRunner().invoke(mlsm_ablations.main, _sweep_args(tmp_path, "--variant", "k3"))
    assert result.exit_code == 0, result.output
    table = (rows / "ablations.md").read_text()
    assert "| k3 | 18.00 | 0.5000 | 18.00 | 17.00 |" in table
    assert "| no-mapping | 16.50 |" in table  # measured in an earlier session, still in the table
    assert json.loads((rows / "ablations.json").read_text())["commands"]["k3"] == _command(tmp_path, "k3")


def test_a_row_from_another_budget_stops_the_sweep_with_the_file_named(tmp_path, monkeypatch):
    rows = tmp_path / "rows"
    rows.mkdir()
    (rows / "k3.json").write_text(json.dumps({"command": _command(tmp_path, "k3", steps=600),
                                              "darkface": str(tmp_path / "darkface"), "row": _row("k3", 18.0)}))
    monkeypatch.setattr(mlsm_ablations.subprocess, "run", lambda *a, **k: pytest.fail("trained"))
    result = CliRunner().invoke(mlsm_ablations.main, _sweep_args(tmp_path, "--variant", "k3"))
    assert result.exit_code != 0
    assert "k3.json: measured for" in result.output
