"""`facebench eval --detector pyramidbox --detector-weights FILE` end to end on a checkpoint in the
public layout (a resume file {'weight': ..., 'epoch': ...} with a `module.` prefix, no BatchNorm
counters), and test-time settings that change the run's identity and cache key."""
import importlib.util
import json

import pytest
import torch
from click.testing import CliRunner

from facebench.cli import main


@pytest.fixture
def public_checkpoint(shared, tmp_path):
    spec = importlib.util.spec_from_file_location("pb_conformance", shared / "specs" / "pyramidbox" / "conformance.py")
    conformance = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conformance)
    state = {f"module.{k}": v for k, v in conformance.deterministic_state_dict(salt=3).items()}
    path = tmp_path / "pyramidbox.pth"
    torch.save({"weight": state, "epoch": 7}, path)
    return path


def _eval(tmp_path, weights, out, *opts):
    args = ["eval", "--limit", "1", "--detector", "pyramidbox", "--detector-weights", str(weights),
            "--detector-opt", "scale=0.25", *opts, "--enhancer", "none", "--qf", "90", "--bootstrap", "0",
            "--workers", "0", "--batch-size", "1", "--no-progress", "--out", str(tmp_path / out),
            "--cache-dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / out / "results.json").read_text())


def test_eval_runs_with_a_public_layout_checkpoint_and_flip_changes_identity(public_checkpoint, tmp_path):
    plain = _eval(tmp_path, public_checkpoint, "plain")
    assert plain["detector"]["name"] == "pyramidbox"
    assert plain["detector"]["settings"]["scale"] == 0.25 and plain["detector"]["settings"]["flip"] is False
    assert plain["detector"]["weights"]["path"] == str(public_checkpoint.resolve())
    assert plain["runs"][0]["timings"]["images_computed"] == 1

    flipped = _eval(tmp_path, public_checkpoint, "flip", "--detector-opt", "flip=true")
    assert flipped["detector"]["settings"]["flip"] is True
    assert flipped["runs"][0]["cache_key"] != plain["runs"][0]["cache_key"]
    assert flipped["runs"][0]["timings"]["images_computed"] == 1

    again = _eval(tmp_path, public_checkpoint, "again")
    assert again["runs"][0]["cache_key"] == plain["runs"][0]["cache_key"]
    assert again["runs"][0]["timings"]["images_cached"] == 1
