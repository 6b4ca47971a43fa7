"""MLSM's opt-in face-box term: labelled face mosaics (boxes follow the faces) and RetinaFace's training loss."""
import cv2
import numpy as np
import pytest
import skimage.data
import torch

from facebench.mlsm.config import LossConfig, ModelConfig
from facebench.mlsm.data import DataConfig, TrainingData
from facebench.mlsm.face_box_loss import FaceBoxLoss
from facebench.mlsm.face_crops import mosaic
from facebench.mlsm.train import MLSMTrainer, TrainOptions


def _photo(height: int, width: int, box) -> np.ndarray:
    """A dark photo with one bright rectangle (the 'face') at box = (x1, y1, x2, y2)."""
    photo = np.full((height, width, 3), 20, np.uint8)
    x1, y1, x2, y2 = box
    photo[y1:y2, x1:x2] = 235
    return photo


def test_mosaic_boxes_land_on_the_faces_after_crop_flip_and_shrink():
    boxes = [(30, 40, 70, 90), (150, 20, 190, 60)]                   # the second photo is wider than tall
    photos = [_photo(200, 120, boxes[0]), _photo(100, 220, boxes[1])]
    seen = 0
    for step in range(40):
        canvas, faces = mosaic(np.random.default_rng([1, step]), photos, 96,
                               [np.array([b], np.float64) for b in boxes])
        bright = canvas[..., 0] > 128
        count, _, stats, _ = cv2.connectedComponentsWithStats(bright.astype(np.uint8))
        # every kept box covers one bright rectangle, within a pixel of resampling
        for x1, y1, x2, y2 in faces:
            inside = bright[int(np.ceil(y1)):int(y2), int(np.ceil(x1)):int(x2)]
            assert inside.size and inside.mean() > 0.9
        # every bright rectangle that is mostly visible has its box
        assert len(faces) <= count - 1
        seen += len(faces)
    assert seen > 40


def test_faces_cut_by_the_square_are_kept_only_when_half_visible():
    photo = _photo(100, 200, (0, 0, 1, 1))
    face = np.array([[95.0, 10.0, 115.0, 30.0]])   # squares of side 100 at left 0..100 show 5..20 px of its width
    widths = []
    for step in range(60):
        _, faces = mosaic(np.random.default_rng([2, step]), [photo] * 9, 96, [face] * 9)
        widths += [(x2 - x1) / (y2 - y1) for x1, y1, x2, y2 in faces]     # visible share of the width
    assert min(widths) >= 0.5 - 1e-6 and max(widths) == pytest.approx(1.0)
    assert any(0.5 <= w < 0.9 for w in widths)                         # cut faces are kept, clipped


def _lfw_canvas(size: int = 256, face: int = 48):
    """A grey canvas with four LFW faces (scikit-image's bundled crops) and their boxes."""
    canvas = np.full((size, size, 3), 110, np.uint8)
    boxes = []
    for i, (x, y) in enumerate([(20, 30), (150, 40), (40, 160), (170, 170)]):
        gray = (skimage.data.lfw_subset()[i] * 255).astype(np.uint8)
        canvas[y:y + face, x:x + face] = cv2.resize(gray, (face, face), interpolation=cv2.INTER_AREA)[..., None]
        boxes.append([x + 6, y + 4, x + face - 6, y + face])
    image = torch.from_numpy(canvas).permute(2, 0, 1)[None].float() / 255
    return image, torch.tensor([[0.0, *b] for b in boxes])


def test_face_box_loss_is_lower_where_the_faces_can_be_seen():
    loss = FaceBoxLoss()
    image, boxes = _lfw_canvas()
    labelled = torch.tensor([True])
    visible = float(loss(image, boxes, labelled))
    dark = float(loss(image * 0.03, boxes, labelled))
    elsewhere = boxes.clone()
    elsewhere[:, 1:] = torch.tensor([100.0, 100.0, 136.0, 140.0])   # a box where there is no face
    wrong = float(loss(image, elsewhere[:1], labelled))
    assert visible < 0.6 * dark and visible < 0.6 * wrong


def test_face_box_loss_trains_only_the_image_and_ignores_unlabelled_items():
    loss = FaceBoxLoss()
    image, boxes = _lfw_canvas()
    pair = torch.cat([image * 0.1, image * 0.1]).requires_grad_(True)
    value = loss(pair, boxes, torch.tensor([True, False]))
    value.backward()
    assert pair.grad[0].abs().sum() > 0 and pair.grad[1].abs().sum() == 0
    assert all(p.grad is None for p in loss.parameters())
    assert float(loss(pair, boxes, torch.tensor([False, False]))) == 0.0


def _face_data(fraction: float) -> TrainingData:
    config = DataConfig(crop=64, max_side=0, qfs=(90,), test_count=0, val_count=0,
                        face_boxes=("faces.json",) if fraction else (), face_fraction=fraction)
    photo = _photo(120, 120, (40, 40, 80, 80))
    return TrainingData(config, synthetic=[photo], faces=[(photo, np.array([[40.0, 40.0, 80.0, 80.0]]))])


def test_paired_batches_carry_boxes_of_the_labelled_items_only():
    batch = _face_data(0.5).batch("pair", 8, seed=0, step=3)
    labelled, boxes = batch["labelled"], batch["boxes"]
    assert 0 < int(labelled.sum()) < 8
    assert set(boxes[:, 0].long().tolist()) <= set(labelled.nonzero().flatten().tolist())
    assert set(_face_data(0.0).batch("pair", 8, seed=0, step=3)) == {"dark", "normal"}


def test_face_options_must_come_together():
    with pytest.raises(ValueError, match="face_fraction"):
        DataConfig(face_fraction=0.5)
    with pytest.raises(ValueError, match="--w-face-boxes"):
        MLSMTrainer(ModelConfig(levels=2, width=8, latent_channels=4), LossConfig(perceptual_kind="ssim"),
                    _face_data(0.5), TrainOptions(out_dir="unused", device="cpu"))


def test_the_face_box_term_joins_the_mapping_stage_and_reaches_its_weights(tmp_path):
    model = ModelConfig(levels=2, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1)
    data = _face_data(1.0)
    trainer = MLSMTrainer(model, LossConfig(perceptual_kind="ssim", face_boxes=1.0), data,
                          TrainOptions(out_dir=str(tmp_path), batch_size=2, progress=False, device="cpu"))
    trainer.metadata["stages"] = {"vae-dark": {}, "vae-normal": {}}
    stage = trainer._stage("mapping")
    trainer._prepare(stage)
    terms, _, _ = trainer.compute_losses(stage, data.batch("pair", 2, seed=0, step=0))
    weights = list(trainer.model.mapping.parameters())
    grads = torch.autograd.grad(terms["face_boxes"], weights, allow_unused=True)
    assert float(terms["face_boxes"].detach()) > 0
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0
