"""Zero-DCE: the authors' legacy checkpoint loads safely and reproduces their output; plugin contract."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

from facebench.datasets.images import read_image
from facebench.enhancers.zerodce import ZeroDCE, ZeroDCENet
from facebench.weights import MissingWeightsError


pytestmark = pytest.mark.usefixtures("one_thread")


def _as_batch(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0


def test_legacy_checkpoint_loads_with_weights_only(shared):
    state = torch.load(shared / "specs" / "zerodce" / "Epoch99.pth", map_location="cpu", weights_only=True)
    assert isinstance(state, OrderedDict) and len(state) == 14
    assert sum(v.numel() for v in state.values()) == 79_416 == sum(p.numel() for p in ZeroDCENet().parameters())


def test_subnormal_weights_are_flushed(weights_home):
    """The authors' file holds ~19k subnormal weights that make CPU inference ~40x slower."""
    tiny = torch.finfo(torch.float32).tiny
    weights = torch.cat([p.flatten() for p in ZeroDCE().net.parameters()])
    assert not ((weights.abs() < tiny) & (weights != 0)).any()


def test_reproduces_authors_reference_output(weights_home, shared):
    enhancer = ZeroDCE()  # found through $FACEBENCH_HOME
    image = _as_batch(read_image(shared / "specs" / "zerodce" / "DICM_01.jpg"))
    reference = np.load(shared / "specs" / "zerodce" / "reference_DICM_01.npz")["output"].astype(np.float32)
    output = enhancer.enhance(image)[0].permute(1, 2, 0).numpy()
    assert output.shape == reference.shape
    assert np.abs(output - reference).max() < 1e-3
    assert enhancer.weights.sha256 == "a4395acb874f320375d9704997cef874eaaaaa26a1777ceb29a92b70f74c3612"
    assert "Li-Chongyi/Zero-DCE" in enhancer.weights.source


def test_keeps_size_batches_and_range(weights_home):
    enhancer = ZeroDCE()
    images = torch.rand(3, 3, 17, 23) * 0.2
    out = enhancer.enhance(images)
    assert out.shape == images.shape and out.min() >= 0 and out.max() <= 1
    assert out.mean() > images.mean()
    assert torch.allclose(enhancer.enhance(images[1:2]), out[1:2], atol=1e-6)


def test_missing_weights_give_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match=r"zerodce/Epoch99.pth.*github.com/Li-Chongyi/Zero-DCE"):
        ZeroDCE()
    assert "missing" in ZeroDCE.weights_status()


def test_weights_status_and_explicit_path(weights_home, shared):
    assert str(weights_home / "zerodce" / "Epoch99.pth") in ZeroDCE.weights_status()
    explicit = ZeroDCE(weights=str(shared / "specs" / "zerodce" / "Epoch99.pth"))
    assert explicit.identity()["weights"]["path"].endswith("Epoch99.pth")


def test_wrong_weights_file_names_the_file(shared):
    wrong = shared / "data" / "weights" / "zerodce_pp" / "Epoch99.pth"
    with pytest.raises(ValueError, match=str(wrong)):
        ZeroDCE(weights=str(wrong))
