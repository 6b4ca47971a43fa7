"""RetinaFace in torch, rebuilt from the shipped ONNX model: the ONNX reader, raw outputs and detections
against ONNX Runtime (on the real DARK FACE sample), batching, gradients and the public loss API."""
import math

import cv2
import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from facebench.detectors.onnx_reader import read_onnx
from facebench.detectors.retinaface import RetinaFace, anchors
from facebench.detectors.retinaface_torch import (FEATURES, RetinaFaceNet, load_retinaface_net,
                                                  retinaface_net_from_onnx)
from facebench.detectors.retinaface_weights import retinaface_onnx

BOX_TOLERANCE_PX, SCORE_TOLERANCE = 0.5, 1e-3


@pytest.fixture(scope="module")
def net() -> RetinaFaceNet:
    return load_retinaface_net()


@pytest.fixture(scope="module")
def detectors():
    return RetinaFace(backend="onnx"), RetinaFace(backend="torch")


def _darkface(shared, index: int) -> torch.Tensor:
    bgr = cv2.imread(str(shared / "data/darkface_sample/image" / f"{index}.png"))
    return torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).permute(2, 0, 1)[None].float() / 255


def test_onnx_reader_reads_the_packaged_model():
    graph = read_onnx(retinaface_onnx()[0])
    assert not graph.skipped
    assert sum(1 for n in graph.nodes if n.op_type == "Conv") == 59
    weight = graph.initializers["class_head.class_head.0.weight"]
    assert weight.shape == (4, 64, 1, 1) and weight.dtype == np.float32 and np.abs(weight).sum() > 0
    with pytest.raises(ValueError, match="not an ONNX model|protobuf"):
        read_onnx(b"not a model")


def test_frozen_cpu_eval_and_layout(net):
    assert not net.training and all(not p.requires_grad for p in net.parameters())
    assert all(p.device.type == "cpu" for p in net.parameters())
    initializers = read_onnx(retinaface_onnx()[0]).initializers
    used = sum(v.size for k, v in initializers.items() if not k.startswith("landmark_head"))
    assert sum(p.numel() for p in net.parameters()) == used  # every other weight of the model, once


def test_raw_outputs_equal_onnx_runtime(net, detectors):
    """Same network input into both: ORT's loc/conf vs the module's loc/softmax(logits)."""
    onnx = detectors[0]
    x = torch.rand(2, 3, 75, 101, generator=torch.Generator().manual_seed(0)) * 255 - 120
    loc, conf = onnx._session.run(["loc", "conf"], {"input": x.numpy()})
    with torch.no_grad():
        out = net(x)
    torch.testing.assert_close(out.loc, torch.from_numpy(loc), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.logits.softmax(-1), torch.from_numpy(conf), atol=1e-5, rtol=0)
    assert torch.equal(out.anchors, anchors(75, 101))


def _match(a: torch.Tensor, b: torch.Tensor) -> float:
    """Worst normalised difference of the best one-to-one pairing of two detection sets (<= 1: same detections
    within the tolerances); inf when the counts differ."""
    if a.shape != b.shape:
        return math.inf
    box = (a[:, None, :4] - b[None, :, :4]).abs().amax(-1) / BOX_TOLERANCE_PX
    score = (a[:, None, 4] - b[None, :, 4]).abs() / SCORE_TOLERANCE
    cost = torch.maximum(box, score).numpy()
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max()) if len(rows) else 0.0


def test_same_detections_as_onnx_on_darkface(shared, detectors):
    onnx, torch_backend = detectors
    total = 0
    for index in range(1, 11):
        image = _darkface(shared, index)
        expected, got = onnx(image)[0], torch_backend(image)[0]
        assert _match(expected, got) <= 1, (index, len(expected), len(got))
        total += len(expected)
    assert total > 500  # the comparison covers the low-score tail, not a handful of boxes


def test_batched_torch_equals_single_images(shared, detectors):
    torch_backend = detectors[1]
    images = torch.cat([_darkface(shared, 1), _darkface(shared, 2)])
    for image, batched in zip(images, torch_backend(images)):
        assert _match(torch_backend(image[None])[0], batched) <= 1


def test_features_shapes_and_gradients(net):
    images = torch.rand(2, 3, 37, 50, requires_grad=True)
    features = net.features(images)
    assert [tuple(f.shape) for f in features] == [
        (2, channels, math.ceil(37 / stride), math.ceil(50 / stride)) for _, channels, stride in FEATURES]
    out = net.raw_outputs(images)
    assert out.logits.shape == (2, anchors(37, 50).shape[0], 2) and out.loc.shape == (2, out.anchors.shape[0], 4)
    for got, expected in zip(out.features, features):
        torch.testing.assert_close(got, expected)
    loss = sum(f.square().mean() for f in features) + out.logits.log_softmax(-1)[..., 1].mean()
    loss.backward()
    assert torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


def test_backend_option_and_identity():
    auto, onnx, torch_backend = RetinaFace(), RetinaFace(backend="onnx"), RetinaFace(backend="torch")
    assert auto.backend == "onnx" and auto.identity() == onnx.identity()  # the faster one on the CPU
    assert torch_backend.identity()["settings"]["backend"] == "torch"
    assert torch_backend.identity() != onnx.identity()
    with pytest.raises(ValueError, match="backend 'tensorrt'"):
        RetinaFace(backend="tensorrt")
    moved = RetinaFace().to("meta")  # any device but the CPU (a GPU here) resolves "auto" to torch
    assert moved.backend == "torch" and moved.identity()["settings"]["backend"] == "torch"
    assert next(moved.net.parameters()).device.type == "meta"
    assert RetinaFace(backend="onnx").to("meta").backend == "onnx"  # an explicit choice stays


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _tiny_onnx(weight_shape) -> bytes:
    """A one-Conv ONNX model named like RetinaFace's first conv: the weight with packed dims and raw data, the
    bias with an unpacked dim and float_data."""
    weight = np.arange(np.prod(weight_shape), dtype="<f4")
    float_type = _varint(2 << 3) + _varint(1)
    w = _field(1, b"".join(map(_varint, weight_shape))) + float_type + _field(8, b"w") + _field(9, weight.tobytes())
    b = (_varint(1 << 3) + _varint(weight_shape[0]) + float_type + _field(8, b"b")
         + _field(4, np.ones(weight_shape[0], "<f4").tobytes()))
    node = (b"".join(_field(1, name) for name in (b"x", b"w", b"b")) + _field(2, b"y")
            + _field(3, b"/fx/stage1/stage1.0/stage1.0.0/Conv") + _field(4, b"Conv"))
    return _field(7, _field(1, node) + _field(5, w) + _field(5, b))


def test_reader_on_a_hand_made_model_and_layout_errors():
    graph = read_onnx(_tiny_onnx((8, 3, 3, 3)))
    assert [n.op_type for n in graph.nodes] == ["Conv"] and graph.nodes[0].inputs == ("x", "w", "b")
    np.testing.assert_array_equal(graph.initializers["w"].reshape(-1), np.arange(216, dtype=np.float32))
    np.testing.assert_array_equal(graph.initializers["b"], np.ones(8, np.float32))
    with pytest.raises(ValueError, match="layout of biubug6's MobileNet-0.25.*Missing key"):
        retinaface_net_from_onnx(_tiny_onnx((8, 3, 3, 3)), "tiny.onnx")
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        retinaface_net_from_onnx(b"\x0a\x02garbage", "bad.onnx")


def test_state_dict_keys_match_the_module():
    from facebench.detectors.retinaface_torch import state_dict_from_onnx
    assert set(state_dict_from_onnx(read_onnx(retinaface_onnx()[0]))) == set(RetinaFaceNet().state_dict())
