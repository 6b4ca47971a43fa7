"""The dark tone curve VAE_C may see its input through (`--dark-curve-eps`): values, inverse, and that the
model, the VAE_C stage and its validation all go through it."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

from facebench.mlsm.config import ModelConfig
from facebench.mlsm.dark_curve import dark_curve, inverse_dark_curve
from facebench.mlsm.model import MLSM

sys.path.insert(0, str(Path(__file__).parent))
from test_mlsm_training_paths import _trainer  # noqa: E402

CURVED = ModelConfig(levels=2, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1, dark_curve_eps=0.01)


def test_curve_lifts_dark_values_and_inverts():
    x = torch.tensor([0.0, 1 / 255, 0.04, 0.5, 1.0])
    y = dark_curve(x, 0.01)
    assert y[0] == 0 and y[-1] == pytest.approx(1.0)
    assert y[2] == pytest.approx(math.log(5) / math.log(101))  # a DARK FACE mean of 0.04 -> 0.349
    slope = (dark_curve(torch.tensor(0.04 + 1e-4), 0.01) - y[2]) / 1e-4
    assert float(slope) == pytest.approx(1 / (0.05 * math.log(101)), rel=1e-2)  # 4.3x the linear slope
    torch.testing.assert_close(inverse_dark_curve(y, 0.01), x, atol=1e-6, rtol=1e-5)
    assert torch.equal(dark_curve(x, 0), x) and torch.equal(inverse_dark_curve(x, 0), x)


def test_model_encodes_the_curve_of_the_dark_image():
    torch.manual_seed(0)
    model = MLSM(CURVED).eval()
    dark = torch.rand(1, 3, 64, 64) * 0.1
    with torch.no_grad():
        _, codes = model.map_latents(dark)
        _, on_curve = model.vae_dark.encode(dark_curve(dark, 0.01), sample=False)
        _, on_linear = model.vae_dark.encode(dark, sample=False)
    assert all(torch.equal(a, b) for a, b in zip(codes, on_curve))
    assert not torch.allclose(codes[0], on_linear[0])


def test_vae_dark_stage_reconstructs_the_curve_and_validation_scores_the_image(tmp_path):
    trainer = _trainer(tmp_path, cfg=CURVED)
    stage = trainer._stage("vae-dark")
    batch = trainer.data.batch("dark", 2, seed=0, step=0)
    _, _, target = trainer.compute_losses(stage, batch)
    torch.testing.assert_close(target, dark_curve(batch["dark"], 0.01))
    # validation inverts the curve: an identity VAE_C would score the dark image itself (inf dB, SSIM 1)
    trainer.model.vae_dark.forward = lambda x, sample: (x, None)
    scores = trainer.validate("vae-dark")
    assert scores["psnr"] > 45 and scores["ssim"] > 0.999


def test_old_checkpoints_mean_linear_and_negative_eps_is_an_error():
    assert ModelConfig.from_dict({"levels": 3}).dark_curve_eps == 0.0
    with pytest.raises(ValueError, match="dark_curve_eps must be >= 0"):
        ModelConfig(dark_curve_eps=-0.01)
