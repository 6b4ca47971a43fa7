"""`s3fd` plugin: the missing-weights message, and a run on random weights in face-alignment's layout
(no S3FD weights exist on this machine), checked against face-alignment's own decoding. ~5 s."""
import os

import numpy as np
import pytest
import torch

from facebench.detectors.s3fd import S3FD, S3FD_FILE, S3FD_URL, decode_outputs
from facebench.weights import MissingWeightsError

net_s3fd = pytest.importorskip("face_alignment.detection.sfd.net_s3fd")
fa_detect = pytest.importorskip("face_alignment.detection.sfd.detect")


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("s3fd") / "random_s3fd.pth"
    torch.save(net_s3fd.s3fd().state_dict(), path)
    return path


def test_missing_weights_message_names_file_folder_and_url(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path / "fb"))
    with pytest.raises(MissingWeightsError) as err:
        S3FD()
    message = str(err.value)
    assert S3FD_FILE in message and str(tmp_path / "torch" / "hub" / "checkpoints") in message and S3FD_URL in message
    assert "\n" not in message
    assert S3FD.weights_status().startswith("missing")


def test_finds_the_face_alignment_cache_file(monkeypatch, tmp_path, random_weights):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    os.link(random_weights, tmp_path / "hub" / "checkpoints" / S3FD_FILE)  # same file, its own name
    detector = S3FD(scale=1.0)
    assert detector.weights.path.endswith(S3FD_FILE) and "face-alignment cache" in detector.weights.source


def test_random_weights_format_and_agreement_with_face_alignment(random_weights):
    detector = S3FD(weights=str(random_weights), scale=1.0, score_threshold=0.05).to("cpu")
    images = torch.rand(2, 3, 48, 64, generator=torch.Generator().manual_seed(1))
    out = detector.detect(images)
    assert len(out) == 2
    for det in out:
        assert det.shape[1] == 5 and det.shape[0] > 0 and det.dtype == torch.float32
        assert (det[:, :4] >= 0).all() and (det[:, 2] <= 64).all() and (det[:, 3] <= 48).all()
        assert (det[:, 4] > 0.05).all() and (det[:, 4].diff() <= 0).all()
    # Candidates before NMS: ours vs face-alignment's get_predictions on the same network outputs.
    x = images[:1] * 255.0
    with torch.no_grad():
        outputs = detector.net(x.flip(1) - torch.tensor([104.0, 117.0, 123.0]).view(1, 3, 1, 1))
    scores, boxes = decode_outputs(outputs)
    ours = torch.cat((boxes[0], scores[0, :, None]), 1)
    ours = ours[ours[:, 4] > 0.05].numpy()
    softmaxed = [o.softmax(1).numpy() if i % 2 == 0 else o.numpy() for i, o in enumerate(outputs)]
    theirs = fa_detect.get_predictions(softmaxed, 1)[0]
    order = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(ours), order(theirs), rtol=1e-4, atol=1e-3)


def test_settings_are_part_of_identity(random_weights):
    a = S3FD(weights=str(random_weights)).identity()
    b = S3FD(weights=str(random_weights), score_threshold=0.5).identity()
    assert a != b and a["weights"]["sha256"] == b["weights"]["sha256"]
    with pytest.raises(TypeError):
        S3FD(weights=str(random_weights), flip=True)
