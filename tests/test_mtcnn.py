"""`mtcnn` plugin (optional extra facebench[mtcnn]): a real AFW face, and the message when it is absent."""
import json
import sys

import pytest
import torch
from torchvision.ops import box_iou

from facebench.datasets.images import read_image


def test_message_when_facenet_pytorch_is_missing(monkeypatch):
    from facebench.detectors.mtcnn import MTCNN
    monkeypatch.setitem(sys.modules, "facenet_pytorch", None)  # makes `import facenet_pytorch` fail
    with pytest.raises(ImportError, match=r"pip install 'facebench\[mtcnn\]'"):
        MTCNN()
    assert "pip install 'facebench[mtcnn]'" in MTCNN.weights_status()


def test_finds_a_real_afw_face(shared):
    pytest.importorskip("facenet_pytorch", reason="optional extra: pip install 'facebench[mtcnn]'")
    import cv2

    from facebench.detectors.mtcnn import MTCNN
    afw = shared / "data" / "afw"
    entries = json.loads((afw / "afw_faces_xyxy.json").read_text())
    entry = next(e for e in entries if e["file"].endswith("1004109301.jpg"))
    image = cv2.resize(read_image(afw / entry["file"]), (150, 200), interpolation=cv2.INTER_AREA)  # 600x800 / 4
    detector = MTCNN(min_face_size=40).to("cpu")
    out = detector.detect(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0)
    assert len(out) == 1 and out[0].shape[1] == 5 and out[0].shape[0] >= 1
    truth = torch.tensor(entry["boxes_xyxy"], dtype=torch.float32) / 4
    assert float(box_iou(out[0][:1, :4], truth).max()) > 0.5
    assert 0.9 < float(out[0][0, 4]) <= 1.0
    assert detector.identity()["weights"]["source"].startswith("shipped in facenet-pytorch")
