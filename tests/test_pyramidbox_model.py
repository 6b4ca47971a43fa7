"""PyramidBox network: the spec's conformance fixture, the checkpoint layouts, and invariants of our own.

Inputs stay tiny (the network has 57 M parameters); the module's tests take ~15 s on 2 CPU cores.
"""
import functools
import importlib.util
import math
from pathlib import Path

import pytest
import torch

from facebench.checkpoint import CheckpointError
from facebench.detectors.pyramidbox.model import PyramidBoxNet
from facebench.detectors.pyramidbox.priors import ANCHOR_SIZES, STRIDES
from facebench.detectors.pyramidbox.weights_io import load_into, load_pyramidbox_weights

FACTORY = "facebench.detectors.pyramidbox.model:pyramidbox_net"


def _conformance(shared):
    path = shared / "specs" / "pyramidbox" / "conformance.py"
    spec = importlib.util.spec_from_file_location("pyramidbox_conformance", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def net():
    return PyramidBoxNet().eval()


@functools.lru_cache(maxsize=None)
def _deterministic_weights(shared_dir: str, salt: int):
    return _conformance(Path(shared_dir)).deterministic_state_dict(salt=salt)


@pytest.fixture
def weights(shared):
    """A deterministic state dict in the public layout (salt 11), built once per session (read-only)."""
    return _deterministic_weights(str(shared), 11)


def test_conformance_fixture(shared):
    assert _conformance(shared).check(FACTORY) < 1e-3


def test_layout_matches_spec_table(shared, net):
    rows = _conformance(shared).read_spec()
    ours = {k: tuple(v.shape) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert ours == dict(rows)
    assert len(rows) == 281
    assert round(sum(math.prod(s) for _, s in rows) / 1e6, 1) == 57.2


def test_resume_file_with_module_prefix_and_no_bn_counters(weights, net, tmp_path):
    assert not any(k.endswith("num_batches_tracked") for k in weights)
    path = tmp_path / "resume.pth"
    torch.save({"weight": {f"module.{k}": v for k, v in weights.items()}, "epoch": 7}, path)
    load_pyramidbox_weights(net, path)
    loaded = net.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in weights.items())
    assert int(loaded["cpm.0.branch1.bn1.num_batches_tracked"]) == 0


def test_strict_loading_still_rejects_wrong_layouts(weights, net):
    load_into(net, dict(weights), "plain")  # a plain state dict loads
    missing = {k: v for k, v in weights.items() if k != "cpm.3.ssh_2.bias"}
    with pytest.raises(CheckpointError, match="missing.*cpm.3.ssh_2.bias"):
        load_into(net, missing, "missing.pth")
    with pytest.raises(CheckpointError, match="Unexpected.*body_layers"):
        load_into(net, {**weights, "body_layers.0.weight": torch.zeros(1)}, "extra.pth")
    with pytest.raises(CheckpointError, match="size mismatch"):
        load_into(net, {**weights, "conf_layers.1.weight": torch.zeros(8, 512, 3, 3)}, "shape.pth")
    with pytest.raises(CheckpointError, match="expected a PyramidBox state dict"):
        load_into(net, {"epoch": 3}, "junk.pth")


def _expected_map_sizes(height, width):
    """Map sizes derived by hand from the layer list: five floor-mode pools, then two stride-2 convs
    (kernel 3, padding 1: ceil(n / 2)); levels 0..3 are conv3_3 (after 2 pools) ... fc7 (after 5)."""
    sizes = [(height >> k, width >> k) for k in (2, 3, 4, 5)]
    for _ in range(2):
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return sizes


def _mirror_symmetric(weights):
    """Make every conv kernel symmetric left-right: the network then commutes with a horizontal flip."""
    return {k: (v + v.flip(-1)) / 2 if v.ndim == 4 else v for k, v in weights.items()}


def test_independent_invariants_odd_height_and_flip(weights, net):
    """Other weights (salt 11, kernels symmetrised) and an odd height (45 x 32). Checks: prior count and
    every prior against the hand-derived map sizes (floor pooling on odd sizes), the level-by-level,
    row-major order of P, and flip equivariance of all four outputs (exercises padding, dilation,
    bilinear upsampling, max-in-out and the flatten order; W = 32 keeps every map mirror-symmetric).
    It does not check which checkpoint tensor feeds which layer: the conformance fixture does."""
    load_into(net, _mirror_symmetric(weights), "salt 11, symmetrised")
    height, width = 45, 32
    x = torch.randn(1, 3, height, width, generator=torch.Generator().manual_seed(3)) * 60
    with torch.no_grad():
        out = net.forward_raw(x)
        out_flipped = net.forward_raw(x.flip(-1))
    sizes = _expected_map_sizes(height, width)
    expected = []
    for (rows, cols), stride, size in zip(sizes, STRIDES, ANCHOR_SIZES):
        expected += [[(c + 0.5) * stride / width, (r + 0.5) * stride / height, size / width, size / height]
                     for r in range(rows) for c in range(cols)]
    assert out[4].shape == (sum(r * c for r, c in sizes), 4)
    torch.testing.assert_close(out[4], torch.tensor(expected))
    for a, b in zip(out[:4], out_flipped[:4]):
        start = 0
        for rows, cols in sizes:
            level_a = a[0, start:start + rows * cols].reshape(rows, cols, -1)
            level_b = b[0, start:start + rows * cols].reshape(rows, cols, -1)
            torch.testing.assert_close(level_b, level_a.flip(1), rtol=1e-4, atol=1e-3)
            start += rows * cols
    assert float(out[1].std()) > 0.1  # the outputs are not trivially constant
