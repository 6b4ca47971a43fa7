"""The shared detector toolkit: anchors and box coding against loops written from the papers' formulas,
the scale rule, the network input against OpenCV's resize, and selection (threshold, top-k, NMS, NaN).
CPU only, < 5 s."""
import math

import cv2
import numpy as np
import pytest
import torch
from torchvision.ops import nms

from facebench.detectors.toolkit import (RGB_MEAN, anchor_grid, clip_detections, decode, encode, max_pixels_scale,
                                         network_input, point_form, resize, select)


def _reference_anchors(map_sizes, strides, sizes):
    rows = []
    for (h, w), stride, level_sizes in zip(map_sizes, strides, sizes):
        for i in range(h):
            for j in range(w):
                for size in level_sizes:
                    rows.append([(j + 0.5) * stride, (i + 0.5) * stride, size, size])
    return torch.tensor(rows)


def test_anchor_grid_matches_loops():
    map_sizes, strides, sizes = [(5, 7), (3, 4), (1, 2)], (8, 16, 32), ((16.0, 32.0), (64.0,), (256.0, 512.0))
    got = anchor_grid(map_sizes, strides, sizes)
    assert got.dtype == torch.float32
    assert torch.equal(got, _reference_anchors(map_sizes, strides, sizes))


def test_decode_one_anchor_and_encode_inverts_it():
    anchor = torch.tensor([[100.0, 50.0, 16.0, 16.0]])
    loc = torch.tensor([[1.0, -2.0, 0.0, math.log(2) / 0.2]])
    # centre (100 + 0.1 * 1 * 16, 50 - 0.1 * 2 * 16) = (101.6, 46.8); size (16, 32)
    expected = torch.tensor([[93.6, 30.8, 109.6, 62.8]])
    torch.testing.assert_close(decode(loc, anchor), expected)
    torch.testing.assert_close(encode(expected, anchor), loc)
    torch.testing.assert_close(point_form(anchor), torch.tensor([[92.0, 42.0, 108.0, 58.0]]))


def test_max_pixels_rule():
    assert round(max_pixels_scale(720, 1080, 2000.0 ** 2), 2) == 2.27
    assert max_pixels_scale(100, 100, 100 * 100 / 4) == 0.5


@pytest.mark.parametrize("scale", [0.5, 0.7, 1.6, 2.27])
def test_resize_is_opencv_linear(scale):
    """Bilinear with half-pixel centres, no antialiasing, size round(side * scale): cv2.INTER_LINEAR."""
    image = np.random.default_rng(0).uniform(0, 255, (37, 50, 3)).astype(np.float32)
    got = resize(torch.from_numpy(image).permute(2, 0, 1)[None], scale)[0].permute(1, 2, 0).numpy()
    size = (round(50 * scale), round(37 * scale))
    expected = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=0.05)  # OpenCV's fixed-point weights


def test_resize_identity_keeps_the_tensor():
    images = torch.rand(1, 3, 20, 30)
    assert resize(images, 1.0) is images
    assert resize(images, 1.01).shape[2:] == (20, 30)  # rounds to the same size


def test_network_input_channel_order_mean_and_flip():
    images = torch.zeros(1, 3, 2, 3)
    images[0, 0, :, 0] = 1.0  # red left column
    rgb = network_input(images)
    bgr = network_input(images, bgr=True)
    flipped = network_input(images, flip=True)
    torch.testing.assert_close(rgb[0, :, 0, 1], -torch.tensor(RGB_MEAN))
    torch.testing.assert_close(rgb[0, 0, 0, 0], torch.tensor(255.0 - 123.0))
    torch.testing.assert_close(bgr, rgb.flip(1))
    torch.testing.assert_close(flipped, rgb.flip(-1))
    assert network_input(images, scale=2.0).shape == (1, 3, 4, 6)


def test_network_input_is_differentiable():
    images = torch.rand(1, 3, 8, 8, requires_grad=True)
    network_input(images, scale=1.5, bgr=True).sum().backward()
    assert images.grad is not None and (images.grad > 0).all()


def _reference_select(boxes, scores, threshold, iou, top_k, keep):
    order = scores.argsort(descending=True)[:top_k]
    order = order[scores[order] > threshold]
    kept = nms(boxes[order], scores[order], iou)[:keep]
    return torch.cat((boxes[order][kept], scores[order][kept, None]), 1)


def test_select_matches_reference_per_image():
    generator = torch.Generator().manual_seed(0)
    xy = torch.rand(2, 300, 2, generator=generator) * 100
    boxes = torch.cat((xy, xy + 5 + torch.rand(2, 300, 2, generator=generator) * 30), -1)
    scores = torch.rand(2, 300, generator=generator)
    got = select(boxes, scores, 0.2, 0.3, top_k=200, keep_top_k=40)
    for b in range(2):
        torch.testing.assert_close(got[b], _reference_select(boxes[b], scores[b], 0.2, 0.3, 200, 40))
        assert (got[b][:, 4].diff() <= 0).all()
    assert all(len(d) > 40 for d in select(boxes, scores, 0.2, 0.3, top_k=200))  # keep_top_k=None keeps all


def test_nan_scores_never_reach_top_k():
    """torch.topk ranks NaN first: unguarded, NaN scores would fill the top-k and push every face out."""
    boxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0], [40.0, 0.0, 50.0, 10.0],
                           [0.0, 40.0, 10.0, 50.0]]])
    scores = torch.tensor([[float("nan"), 0.9, float("nan"), 0.6]])
    assert torch.isnan(scores.topk(2).values).all()  # the hazard
    out = select(boxes, scores, 0.01, 0.3, top_k=2)[0]
    torch.testing.assert_close(out[:, 4], torch.tensor([0.9, 0.6]))
    torch.testing.assert_close(out[:, :4], boxes[0, [1, 3]])


def test_select_drops_non_finite_and_empty_boxes():
    boxes = torch.tensor([[[0.0, 0.0, float("inf"), 10.0], [5.0, 5.0, 5.0, 9.0], [0.0, 0.0, 4.0, 4.0]]])
    out = select(boxes, torch.tensor([[0.9, 0.8, 0.7]]), 0.01, 0.3, top_k=10)[0]
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0, 4.0, 4.0, 0.7]]))


def test_clip_detections():
    det = torch.tensor([[-5.0, 2.0, 30.0, 8.0, 0.9], [25.0, 0.0, 40.0, 5.0, 0.8], [2.0, 2.0, 6.0, 6.0, 0.5]])
    out = clip_detections(det, height=10, width=20)
    torch.testing.assert_close(out, torch.tensor([[0.0, 2.0, 20.0, 8.0, 0.9], [2.0, 2.0, 6.0, 6.0, 0.5]]))
