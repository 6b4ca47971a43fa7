"""Trainers without torchrun support refuse several processes in one line, before reading data or writing."""
from pathlib import Path

import pytest

from facebench.enhancers import deblock_train, zerodce_train


@pytest.mark.parametrize("name, start", [
    ("zerodce", lambda out: zerodce_train.train(zerodce_train.ZeroDCETrainConfig(dark="missing", out=str(out)))),
    ("deblock", lambda out: deblock_train.train(None, out, None)),
])
def test_several_torchrun_processes_are_one_clear_error(name, start, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = Path(tmp_path) / "run"
    with pytest.raises(ValueError, match=rf"{name}: training under torchrun is not supported \(WORLD_SIZE=2\)"):
        start(out)
    assert not out.exists()
