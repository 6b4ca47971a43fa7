"""The safe CUDA path, checked on the CPU by simulating half precision with fp16 autocast: the conformance
weights overflow fp16 in PyramidBox's LFPN, the "mixed" option (LFPN, L2Norm and heads in fp32) stays finite
and close to fp32, the unguarded network gives NaN logits, and NaN never reaches the detections.

fp16 convolutions are slow on a CPU, so the inputs are 32 x 32 (the smallest PyramidBox input); ~30 s.
"""
import contextlib
import functools
import importlib.util
from pathlib import Path

import pytest
import torch

from facebench.detectors.precision import Float32
from facebench.detectors.pyramidbox import PyramidBox
from facebench.detectors.pyramidbox import model as pyramidbox_model
from facebench.detectors.pyramidbox.model import PyramidBoxNet
from facebench.detectors.toolkit import network_input

FP16_MAX = torch.finfo(torch.float16).max
SIZE = 32


@functools.lru_cache(maxsize=None)
def _conformance_net(shared_dir: str):
    spec = importlib.util.spec_from_file_location("pyramidbox_conformance_precision",
                                                  Path(shared_dir) / "specs" / "pyramidbox" / "conformance.py")
    conformance = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conformance)
    net = PyramidBoxNet()
    net.load_state_dict(conformance.deterministic_state_dict(salt=3))
    return net.eval(), conformance.deterministic_input(SIZE, SIZE, seed=0)


@pytest.fixture
def conformance_net(shared):
    """PyramidBox with the spec's deterministic weights (built once) and its 32 x 32 network input."""
    return _conformance_net(str(shared))


def _half(net, x):
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):
        return net(x)


def test_lfpn_activations_exceed_fp16(conformance_net):
    net, x = conformance_net
    seen = {}
    hook = net.L2Norm3_3.register_forward_hook(lambda module, inputs, output: seen.update(product=inputs[0]))
    with torch.no_grad():
        net(x)
    hook.remove()
    assert seen["product"].abs().max() > 100 * FP16_MAX  # the stride-4 LFPN product (1e8 here)


def test_mixed_precision_is_finite_and_close_to_fp32(conformance_net):
    net, x = conformance_net
    with torch.no_grad():
        face_loc, face_conf = net(x)[:2]
    mixed_loc, mixed_conf = _half(net, x)[:2]
    assert mixed_conf.dtype == torch.float32 and torch.isfinite(mixed_conf).all() and torch.isfinite(mixed_loc).all()
    torch.testing.assert_close(mixed_conf.softmax(-1), face_conf.softmax(-1), atol=5e-3, rtol=0)
    torch.testing.assert_close(mixed_loc, face_loc, atol=0.05, rtol=0.01)


def test_unguarded_half_precision_gives_nan_that_never_reaches_the_detections(conformance_net, monkeypatch):
    net, _ = conformance_net
    monkeypatch.setattr(pyramidbox_model, "float32", lambda device: contextlib.nullcontext())  # no fp32 islands
    image = torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    scores = _half(net, network_input(image))[1].float().softmax(-1)[0, :, 1]
    nan = torch.isnan(scores)
    assert nan.sum() > 3 and (scores[~nan] > 0.01).any()  # what a pure fp16 run gives: NaN on the LFPN levels
    assert torch.isnan(scores.topk(3).values).all()  # and torch.topk ranks NaN first
    detections = PyramidBox(net=net, scale=1.0, precision="mixed", top_k=3).detect(image)[0]
    assert len(detections) > 0 and torch.isfinite(detections).all()
    assert (detections[:, 4] > 0.01).all() and (detections[:, 4] <= 1).all() and (detections[:, 4].diff() <= 0).all()


def test_mixed_pyramidbox_detections_match_fp32(conformance_net):
    net, _ = conformance_net
    image = torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    fp32 = PyramidBox(net=net, scale=1.0).detect(image)[0]
    mixed = PyramidBox(net=net, scale=1.0, precision="mixed").detect(image)[0]
    assert len(fp32) > 0 and abs(len(mixed) - len(fp32)) <= max(2, len(fp32) // 20)
    torch.testing.assert_close(mixed[:5, 4], fp32[:5, 4], atol=5e-3, rtol=0)


def test_s3fd_mixed_precision_keeps_l2norm_and_heads_in_fp32(tmp_path):
    net_s3fd = pytest.importorskip("face_alignment.detection.sfd.net_s3fd")
    from facebench.detectors.s3fd import S3FD
    torch.manual_seed(0)
    path = tmp_path / "random_s3fd.pth"
    torch.save(net_s3fd.s3fd().state_dict(), path)
    fp32 = S3FD(weights=str(path), scale=1.0)
    mixed = S3FD(weights=str(path), scale=1.0, precision="mixed")
    assert isinstance(mixed.net.conv3_3_norm, Float32) and isinstance(mixed.net.conv7_2_mbox_loc, Float32)
    assert not isinstance(fp32.net.conv3_3_norm, Float32)
    assert fp32.identity()["settings"]["precision"] == "fp32" and fp32.identity() != mixed.identity()
    images = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(1))
    expected, got = fp32.detect(images)[0], mixed.detect(images)[0]
    assert torch.isfinite(got).all() and len(got) > 0
    torch.testing.assert_close(got[:5, 4], expected[:5, 4], atol=5e-3, rtol=0)
    with pytest.raises(ValueError, match="precision"):
        S3FD(weights=str(path), precision="fp16")
