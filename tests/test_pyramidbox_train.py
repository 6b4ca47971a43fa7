"""PyramidBox training pieces: matching and loss terms on hand-made cases, augmentation geometry, one SGD
step on a tiny batch, the CLI. Runtime ~10 s on 2 CPU cores (one forward/backward at 32x32)."""
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facebench.detectors.pyramidbox.augment import AugmentConfig, augment, data_anchor_sampling, random_square_crop
from facebench.detectors.pyramidbox.loss import head_boxes, match, multibox_loss
from facebench.detectors.pyramidbox.train import TrainConfig, build_training_net, train_step

# Six priors (cx, cy, w, h), normalised; prior 0 is exactly the ground-truth box below.
PRIORS = torch.tensor([[0.2, 0.2, 0.2, 0.2], [0.8, 0.8, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2],
                       [0.25, 0.25, 0.3, 0.3], [0.8, 0.2, 0.1, 0.1], [0.2, 0.8, 0.1, 0.1]])


def test_match_threshold_and_best_prior():
    labels = match(torch.tensor([[0.1, 0.1, 0.3, 0.3]]), PRIORS)[1]
    # IoU with prior 3 ([0.1, 0.4]^2) = 0.04 / 0.09 = 0.44 >= 0.35: positive too; the others do not overlap.
    assert labels.tolist() == [1, 0, 0, 1, 0, 0]
    far = torch.tensor([[0.7, 0.05, 0.95, 0.3]])  # best IoU (prior 4) = 0.01 / 0.0625 < 0.35: forced positive
    loc_t, labels = match(far, PRIORS)
    assert labels.tolist() == [0, 0, 0, 0, 1, 0]
    cx, cy, w, h = 0.825, 0.175, 0.25, 0.25
    torch.testing.assert_close(loc_t[4], torch.tensor([(cx - 0.8) / (0.1 * 0.1), (cy - 0.2) / (0.1 * 0.1),
                                                       math.log(w / 0.1) / 0.2, math.log(h / 0.1) / 0.2]))
    assert match(torch.zeros(0, 4), PRIORS)[1].sum() == 0


def test_multibox_loss_hand_made():
    gt = [torch.tensor([[0.1, 0.1, 0.3, 0.3]])]  # positives: priors 0 and 3 (see above)
    loc = torch.zeros(1, 6, 4)
    loc[0, 0] = torch.tensor([1.0, -1.0, 0.5, 0.0])  # smooth-L1 vs target 0: 0.5 + 0.5 + 0.125 + 0
    loc_t3 = match(gt[0], PRIORS)[0][3]
    loc[0, 3] = loc_t3  # exact: 0
    conf = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 1.0], [0.0, -1.0], [1.0, 1.0]]])
    loss_l, loss_c = multibox_loss(loc, conf, PRIORS, gt)
    assert float(loss_l) == pytest.approx(1.125 / 2)
    ce = lambda logits, target: float(torch.logsumexp(torch.tensor(logits), 0) - logits[target])  # noqa: E731
    positives = ce([0.0, 0.0], 1) + ce([0.0, 1.0], 1)
    # 3 x 2 positives = 6 negatives wanted (capped at P - 1 = 5): all 4 negatives are used.
    negatives = ce([2.0, 0.0], 0) + ce([0.0, 3.0], 0) + ce([0.0, -1.0], 0) + ce([1.0, 1.0], 0)
    assert float(loss_c) == pytest.approx((positives + negatives) / 2)


def test_hard_negative_mining_ratio():
    gt = [torch.tensor([[0.1, 0.1, 0.3, 0.3]])]
    priors = torch.cat([PRIORS[:1], torch.tensor([[0.9, 0.9, 0.05, 0.05]]).repeat(20, 1)])  # 1 positive, 20 negatives
    conf = torch.zeros(1, 21, 2)
    conf[0, 1:, 1] = torch.arange(20.0) / 4  # increasingly confident false positives
    loss_c = multibox_loss(torch.zeros(1, 21, 4), conf, priors, gt)[1]
    worst3 = sum(float(torch.logsumexp(conf[0, i], 0) - conf[0, i, 0]) for i in (18, 19, 20))
    assert float(loss_c) == pytest.approx(math.log(2) + worst3)


def test_head_boxes():
    torch.testing.assert_close(head_boxes(torch.tensor([[0.4, 0.4, 0.5, 0.6], [0.0, 0.9, 0.2, 1.0]])),
                               torch.tensor([[0.35, 0.3, 0.55, 0.7], [0.0, 0.85, 0.3, 1.0]]))


def _coloured_boxes_image():
    image = np.zeros((300, 400, 3), np.uint8)
    boxes = np.array([[40.0, 50.0, 70.0, 90.0], [200.0, 100.0, 212.0, 114.0], [300.0, 200.0, 380.0, 280.0]])
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    for (x1, y1, x2, y2), c in zip(boxes.astype(int), colours):
        image[y1:y2, x1:x2] = c
    return image, boxes, colours


def _check_boxes_cover_their_pixels(crop, boxes, colours):
    """Every kept box (sides >= 4 px) is filled by one rectangle's colour and, when not clipped by the crop,
    encloses exactly that rectangle's pixels (+-1 px)."""
    assert len(boxes) >= 1
    for box in boxes[np.all(boxes[:, 2:] - boxes[:, :2] >= 4, axis=1)]:
        x1, y1, x2, y2 = box
        inner = crop[int(math.ceil(y1)) + 1:int(y2) - 1, int(math.ceil(x1)) + 1:int(x2) - 1].reshape(-1, 3)
        channel = int(np.argmax(inner.mean(0)))
        assert inner[:, channel].mean() > 200, (box, inner.mean(0))
        if 0 < x1 and 0 < y1 and x2 < crop.shape[1] and y2 < crop.shape[0]:  # not clipped: check the extent
            ys, xs = np.nonzero(crop[..., channel] > 127)
            assert abs(xs.min() - x1) <= 1 and abs(xs.max() + 1 - x2) <= 1, (box, xs.min(), xs.max())
            assert abs(ys.min() - y1) <= 1 and abs(ys.max() + 1 - y2) <= 1, (box, ys.min(), ys.max())


@pytest.mark.parametrize("seed", range(6))
def test_data_anchor_sampling_keeps_boxes_on_their_pixels(seed):
    image, boxes, colours = _coloured_boxes_image()
    rng = np.random.default_rng(seed)
    crop, kept = data_anchor_sampling(image, boxes, 160, rng)
    assert crop.shape == (160, 160, 3) and crop.dtype == np.uint8
    _check_boxes_cover_their_pixels(crop, kept, colours)


def test_data_anchor_sampling_face_sizes():
    """A lone 30 px face: nearest anchor 32, targets 16, 32 or 64 px, times 2^U(-1, 1) -> 8 ... 128 px."""
    image = np.zeros((200, 300, 3), np.uint8)
    image[50:80, 100:130] = 255
    sizes = []
    for seed in range(40):
        _, kept = data_anchor_sampling(image, np.array([[100.0, 50.0, 130.0, 80.0]]), 160, np.random.default_rng(seed))
        sizes.append(float(np.sqrt(np.prod(kept[0, 2:] - kept[0, :2]))))
    assert 8 - 0.5 <= min(sizes) < 16 and 64 < max(sizes) <= 128 + 0.5


@pytest.mark.parametrize("seed", range(3))
def test_random_crop_and_flip_keep_boxes_on_their_pixels(seed):
    image, boxes, colours = _coloured_boxes_image()
    rng = np.random.default_rng(100 + seed)
    crop, kept = random_square_crop(image, boxes, 128, rng)
    if len(kept):
        _check_boxes_cover_their_pixels(crop, kept, colours)
    config = AugmentConfig(size=128, distort=False, flip_prob=1.0, anchor_sampling_prob=1.0)
    crop, kept = augment(image, boxes, config, np.random.default_rng(seed))
    _check_boxes_cover_their_pixels(crop, kept, colours)


def test_small_faces_dropped_after_crop():
    image, boxes, _ = _coloured_boxes_image()
    crop, kept = random_square_crop(image, boxes, 64, np.random.default_rng(0), min_face=6.0)
    assert np.all(kept[:, 2:] - kept[:, :2] >= 6.0)


def test_one_step_lowers_the_loss():
    torch.manual_seed(0)
    net = build_training_net().train()
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    images = torch.randn(2, 3, 32, 32) * 50
    faces = [torch.tensor([[0.25, 0.25, 0.5, 0.5]]), torch.tensor([[0.5, 0.4, 0.75, 0.65], [0.1, 0.1, 0.2, 0.2]])]
    before = train_step(net, optimizer, images, faces)
    assert set(before) == {"face_loc", "face_conf", "head_loc", "head_conf"}
    with torch.no_grad():
        from facebench.detectors.pyramidbox.loss import pyramidbox_losses
        after = pyramidbox_losses(net(images), faces)
    assert sum(after.values()) < sum(before.values())


def test_train_config_and_cli():
    with pytest.raises(ValueError, match="multiple of 32"):
        TrainConfig(data="d", out="o", size=100)
    with pytest.raises(ValueError, match="batch size 1"):
        TrainConfig(data="d", out="o", size=64, batch_size=1)
    from facebench.cli import main
    result = CliRunner().invoke(main, ["train-detector", "pyramidbox", "--help"])
    assert result.exit_code == 0 and "--vgg" in result.output and "--resume" in result.output


def test_vgg16_imagenet_file_initialises_the_backbone(tmp_path):
    from facebench.checkpoint import CheckpointError
    from facebench.detectors.pyramidbox.train import VGG_CONVS
    channels = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    generator = torch.Generator().manual_seed(0)
    vgg = {}  # torchvision vgg16 layout: features.<i>.* (+ a classifier, ignored)
    for index, c_in, c_out in zip(VGG_CONVS, channels[:-1], channels[1:]):
        vgg[f"features.{index}.weight"] = torch.randn(c_out, c_in, 3, 3, generator=generator)
        vgg[f"features.{index}.bias"] = torch.randn(c_out, generator=generator)
    vgg["classifier.6.bias"] = torch.zeros(1000)
    torch.save(vgg, tmp_path / "vgg16.pth")
    net = build_training_net(str(tmp_path / "vgg16.pth"))
    assert all(torch.equal(net.vgg[i].weight, vgg[f"features.{i}.weight"]) for i in VGG_CONVS)
    assert net.cpm[0].branch1.bn1.weight.eq(1).all() and net.loc_layers[0].bias.eq(0).all()  # Xavier init elsewhere
    vgg["features.28.weight"] = torch.zeros(512, 512, 1, 1)
    torch.save(vgg, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="bad.pth: 28.weight has shape"):
        build_training_net(str(tmp_path / "bad.pth"))
