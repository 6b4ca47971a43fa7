"""The shipped MLSM weights on real images: they beat the input and a gamma curve on held-out SICE pairs,
their mapping predicts VAE_N's latents of a full-size held-out image better than predicting nothing, and
tiled inference of a real DARK FACE frame matches one pass (tiles only cut the image; they do not change
what the model sees much)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from facebench.checkpoint import load_checkpoint
from facebench.degrade import jpeg_roundtrip
from facebench.enhancers.mlsm import DEFAULT_WEIGHTS, MLSMEnhancer
from facebench.image_quality import psnr, ssim
from facebench.mlsm.data import read_rgb, to_tensor, to_uint8
from facebench.mlsm.inference import enhance_padded, enhance_tiled, pad_to
from facebench.mlsm.validation import latent_errors

pytestmark = pytest.mark.usefixtures("one_thread")
TEST_PAIRS = ("129.jpg", "135.jpg", "141.jpg")  # among the last 15 SICE pairs: never loaded in training
# One pass vs 256 px tiles (64 px overlap) of a 600x400 DARK FACE crop, shared attention means: measured
# 0.012 mean / 0.046 max with the shipped weights (0.113 / 0.355 when every tile used its own means).
MEAN_TILE_ERROR, MAX_TILE_ERROR = 0.02, 0.08


def _pair(shared, name: str, qf: int = 90):
    folder = shared / "data" / "paired" / "sice_part1"
    return jpeg_roundtrip(read_rgb(folder / "low" / name), qf), read_rgb(folder / "high" / name)


def test_test_pairs_were_excluded_from_training():
    data = load_checkpoint(DEFAULT_WEIGHTS)["metadata"]["data"]
    assert data["test_pairs_excluded"] == 15
    assert not any(v.endswith("/" + name) for v in data["val_ids"] for name in TEST_PAIRS)


def test_shipped_weights_beat_the_input_and_gamma_on_held_out_pairs(shared):
    enhancer = MLSMEnhancer()
    for name in TEST_PAIRS:
        low, high = _pair(shared, name)
        out = to_uint8(enhancer(to_tensor(low)))
        gamma = np.round(255 * (low / 255.0) ** 0.4).astype(np.uint8)
        assert psnr(out, high) > psnr(low, high) + 5
        assert psnr(out, high) > psnr(gamma, high) and ssim(out, high) > ssim(gamma, high), name


def test_mapped_latents_beat_predicting_zero_on_a_full_size_image(shared):
    model = MLSMEnhancer().net
    low, high = _pair(shared, "135.jpg")
    dark, normal = (pad_to(to_tensor(im), model.config.multiple) for im in (low, high))
    errors = latent_errors(model, dark, normal)
    for level, error in enumerate(errors):
        assert error["mapped"] < 0.5 * error["zero"], (level, errors)


def test_tiled_inference_of_a_real_frame_matches_one_pass(shared):
    model = MLSMEnhancer().net
    path = sorted((shared / "data" / "darkface_sample" / "image").glob("*.png"))[0]
    frame = to_tensor(jpeg_roundtrip(read_rgb(path), 90))[..., :400, :600]
    with torch.no_grad():
        whole = enhance_padded(model, frame)
        tiled = enhance_tiled(model, frame, tile=256, overlap=64)
    difference = (whole - tiled).abs()
    assert tiled.shape == frame.shape
    assert float(difference.mean()) < MEAN_TILE_ERROR and float(difference.max()) < MAX_TILE_ERROR
