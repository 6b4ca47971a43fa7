"""The opt-in image-gradient L1 (`--w-gradient`): its value on known images, and that it joins the
image-to-image stages' losses with its weight (and only when asked)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from facebench.mlsm.config import LossConfig, ModelConfig
from facebench.mlsm.losses import SSIMPerceptual, gradient_l1
from facebench.mlsm.model import MLSM
from facebench.mlsm.stages import build_stage, compute_losses

pytestmark = pytest.mark.usefixtures("one_thread")


def test_value_on_known_images():
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 3, 4) / 10  # horizontal steps of 0.1
    flat = torch.zeros(1, 1, 3, 4)
    # horizontal differences 0.1 vs 0, vertical differences 0 vs 0: 0.5 * (0.1 + 0)
    assert gradient_l1(ramp, flat).item() == pytest.approx(0.05)
    assert gradient_l1(ramp + 0.3, ramp).item() < 1e-7  # a brightness offset keeps the detail
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    blurred = F.avg_pool2d(image, 3, stride=1, padding=1, count_include_pad=False)
    assert gradient_l1(blurred, image) > 0.1  # blurring removes detail the term asks for


@pytest.mark.parametrize("stage_name", ["mapping", "refine"])
def test_joins_the_image_to_image_stages_with_its_weight(stage_name):
    torch.manual_seed(0)
    model = MLSM(ModelConfig(levels=2, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1,
                             refine_width=8)).eval()
    trained = {"vae-dark": {}, "vae-normal": {}, "mapping": {}}
    stage = build_stage(model, stage_name, trained, 1, 1, 1, "run")
    batch = {"dark": torch.rand(2, 3, 32, 32) * 0.2, "normal": torch.rand(2, 3, 32, 32)}
    terms, output, target = compute_losses(model, stage, batch, LossConfig(perceptual_kind="ssim", gradient=5.0),
                                           SSIMPerceptual())
    assert terms["gradient"].item() == pytest.approx(5.0 * gradient_l1(output, target).item(), rel=1e-6)
    assert terms["gradient"].requires_grad and terms["gradient"].item() > 0
    without, _, _ = compute_losses(model, stage, batch, LossConfig(perceptual_kind="ssim"), SSIMPerceptual())
    assert "gradient" not in without
    assert terms["total"].item() == pytest.approx(without["total"].item() + terms["gradient"].item(), rel=1e-5)
