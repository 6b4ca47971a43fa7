"""PyramidBox test-time procedure and detector plugin.

Most tests drive the pipeline with `_SpotNet`, a parameter-free stand-in with PyramidBox's output
format whose face score is the brightness inside each anchor, so the right answer is known. One test
runs the real network (random weights) end to end at 32x48. Runtime ~10 s on 2 CPU cores.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from facebench.detectors.pyramidbox import PyramidBox
from facebench.detectors.pyramidbox import inference
from facebench.detectors.pyramidbox.inference import box_voting, plan_passes, run_pass
from facebench.detectors.pyramidbox.model import PyramidBoxNet
from facebench.detectors.pyramidbox.priors import ANCHOR_SIZES, STRIDES, prior_boxes
from facebench.detectors.toolkit import RGB_MEAN
from facebench.weights import MissingWeightsError


class _SpotNet(torch.nn.Module):
    """PyramidBox-shaped outputs, zero offsets, face logit 20 * (s - 0.5) where s = mean brightness in the
    anchor x share of the image's bright area inside it (s = 1 only for the anchor equal to a lone square)."""

    def forward(self, x):
        bright = ((x + torch.tensor(RGB_MEAN).view(1, 3, 1, 1)) / 255.0).mean(1, keepdim=True)
        logits, sizes = [], []
        for stride, size in zip(STRIDES, ANCHOR_SIZES):
            size = int(size)
            left = (size - stride) // 2  # output i averages [i * stride - left, i * stride - left + size)
            pooled = F.avg_pool2d(F.pad(bright, [left, size, left, size]), size, stride)
            pooled = pooled[..., :-(-x.shape[2] // stride), :-(-x.shape[3] // stride)]
            sizes.append(tuple(pooled.shape[2:]))
            coverage = pooled * size**2 / bright.sum((1, 2, 3)).view(-1, 1, 1, 1)  # share of the bright area
            logits.append(20 * (pooled * coverage).flatten(1) - 10)
        face = torch.cat(logits, 1)
        conf = torch.stack((torch.zeros_like(face), face), -1)
        loc = torch.zeros(*face.shape, 4)
        return loc, conf, loc, conf, prior_boxes(sizes, x.shape[2], x.shape[3])


def _square_image(height=64, width=96, box=(6, 14, 22, 30)):
    image = torch.zeros(1, 3, height, width)
    x1, y1, x2, y2 = box
    image[..., y1:y2, x1:x2] = 1.0
    return image


def test_plan_passes_matches_the_public_schedule():
    default = plan_passes(inference.TestTimeConfig(), 720, 1080)
    assert [p.scale for p in default] == [pytest.approx(math.sqrt(4e6 / 777600))]
    assert round(plan_passes(inference.TestTimeConfig(), 720, 1080)[0].scale, 2) == 2.27
    wider = inference.TestTimeConfig.wider()
    budget = math.sqrt(1.7e6 / (200 * 300))  # 5.32: base 1 + flip, 0.5, then 2, 4 and the budget itself
    passes = plan_passes(wider, 200, 300)
    assert [(p.scale, p.flip) for p in passes] == [(1.0, False), (1.0, True), (0.5, False), (2.0, False),
                                                   (4.0, False), (pytest.approx(budget), False)]
    assert passes[2].min_long_side == 30 and all(p.max_short_side == 100 for p in passes[3:])
    large = plan_passes(wider, 1500, 2000)  # budget 0.75: 0.5 pass, then (0.5 + 0.75) / 2 keeping big faces
    assert [p.scale for p in large] == [pytest.approx(0.7528, abs=1e-4)] * 2 + [0.5, pytest.approx(0.6264, abs=1e-4)]
    assert large[3].min_long_side == 30 and large[3].max_short_side == math.inf


def test_settings_are_part_of_identity():
    net = _SpotNet()
    identities = [PyramidBox(net=net, **kw).identity() for kw in
                  ({}, {"flip": True}, {"scale": 1.0}, {"procedure": "wider"}, {"score_threshold": 0.05})]
    identities.append(PyramidBox(net=net, preset="wider").identity())
    assert len({repr(i) for i in identities}) == len(identities)
    assert PyramidBox(net=net, scale=2).identity() == PyramidBox(net=net, scale=2.0).identity()
    assert identities[0]["settings"]["max_pixels"] == 4e6 and identities[0]["settings"]["score_threshold"] == 0.01
    assert identities[0]["settings"]["precision"] == "fp32"
    assert PyramidBox(net=net, precision="mixed").identity() != identities[0]
    with pytest.raises(ValueError, match="precision 'half'"):
        PyramidBox(net=net, precision="half")
    with pytest.raises(TypeError, match="unknown settings.*flipp"):
        PyramidBox(net=net, flipp=True)
    with pytest.raises(ValueError, match="procedure"):
        PyramidBox(net=net, procedure="multi")


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_flip_pass_maps_boxes_back(scale):
    image = _square_image()
    config = inference.TestTimeConfig(scale=scale)
    plain = run_pass(_SpotNet(), image, plan_passes(config, 64, 96)[0], config)[0]
    flip_pass = plan_passes(inference.TestTimeConfig(scale=scale, flip=True), 64, 96)[1]
    flipped = run_pass(_SpotNet(), image, flip_pass, config)[0]
    torch.testing.assert_close(plain[0, :4], torch.tensor([6.0, 14.0, 22.0, 30.0]))
    torch.testing.assert_close(flipped[0], plain[0])
    merged = PyramidBox(net=_SpotNet(), scale=scale, flip=True).detect(image)[0]
    torch.testing.assert_close(merged[0], plain[0])


def test_every_nms_survivor_of_a_pass_is_voted_then_cut_to_keep_top_k():
    """As the public procedure: up to top_k (5000) boxes per pass before box voting, keep_top_k after it."""
    image = _square_image(64, 96, (6, 14, 22, 30))  # three anchor-aligned squares, brightness 1, 0.8, 0.6
    image[..., 34:50, 38:54] = 0.8
    image[..., 10:26, 70:86] = 0.6
    settings = dict(scale=1.0, keep_top_k=2, score_threshold=1e-4)
    config = inference.TestTimeConfig(flip=True, **settings)
    per_pass = run_pass(_SpotNet(), image, plan_passes(config, 64, 96)[0], config)[0]
    assert len(per_pass) > config.keep_top_k
    merged = PyramidBox(net=_SpotNet(), flip=True, **settings).detect(image)[0]
    assert len(merged) == 2
    torch.testing.assert_close(merged[0, :4], torch.tensor([6.0, 14.0, 22.0, 30.0]))
    torch.testing.assert_close(PyramidBox(net=_SpotNet(), **settings).detect(image)[0], per_pass[:2])


def test_box_voting_hand_made_case():
    det = torch.tensor([[0.0, 0.0, 10.0, 10.0, 0.9],     # A
                        [1.0, 1.0, 11.0, 11.0, 0.6],     # B: IoU(A) = 100/142 (+1 convention) -> merged with A
                        [50.0, 50.0, 60.0, 60.0, 0.8],   # C: alone -> dropped, as in the public code
                        [100.0, 0.0, 120.0, 20.0, 0.5],  # D
                        [102.0, 0.0, 122.0, 20.0, 0.3],  # E: IoU(D) = 19/23 -> merged with D
                        [0.0, 0.0, 30.0, 30.0, 0.2]])    # F: IoU(A) = 121/961 < 0.3, alone -> dropped
    out = box_voting(det[torch.randperm(6, generator=torch.Generator().manual_seed(0))])
    ab = (0.9 * det[0, :4] + 0.6 * det[1, :4]) / 1.5
    de = (0.5 * det[3, :4] + 0.3 * det[4, :4]) / 0.8
    torch.testing.assert_close(out, torch.stack((torch.cat((ab, torch.tensor([0.9]))),
                                                 torch.cat((de, torch.tensor([0.5]))))))
    assert box_voting(det, keep=1).shape == (1, 5)
    assert box_voting(det[2:3]).shape == (0, 5)


def test_wider_procedure_runs_and_finds_the_square():
    image = _square_image(64, 96, (30, 18, 46, 34))
    out = PyramidBox(net=_SpotNet(), preset="wider", max_pixels=64 * 96 * 4).detect(image)[0]
    torch.testing.assert_close(out[0, :4], torch.tensor([30.0, 18.0, 46.0, 34.0]), atol=0.5, rtol=0)


def test_end_to_end_random_weights_format():
    torch.manual_seed(0)
    detector = PyramidBox(net=PyramidBoxNet(), scale=1.0, flip=True, merge="nms").to("cpu")
    images = torch.rand(2, 3, 32, 48)
    out = detector.detect(images)
    assert len(out) == 2
    for det in out:
        assert det.dtype == torch.float32 and det.ndim == 2 and det.shape[1] == 5 and 0 < det.shape[0] <= 750
        assert (det[:, 0] >= 0).all() and (det[:, 2] <= 48).all() and (det[:, 1] >= 0).all() and (det[:, 3] <= 32).all()
        assert (det[:, 2] > det[:, 0]).all() and (det[:, 3] > det[:, 1]).all()
        assert (det[:, 4] > 0.01).all() and (det[:, 4] <= 1).all() and (det[:, 4].diff() <= 0).all()


def test_missing_weights_message(monkeypatch, tmp_path):
    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match=f"pyramidbox.pth in {tmp_path}.*yxlijun/Pyramidbox.pytorch"):
        PyramidBox()
    with pytest.raises(MissingWeightsError, match="nope.pth does not exist"):
        PyramidBox(weights=str(tmp_path / "nope.pth"))
    assert PyramidBox.weights_status().startswith("missing")
