"""Validation of an MLSM stage on held-out pairs: PSNR / SSIM / PSNR-B (`facebench.image_quality`).

The mapping stage scores the enhancement of the JPEG-compressed dark image against the normal-light
one; the VAE stages score their own reconstruction of the held-out dark (vae-dark) or normal
(vae-normal) images, the ceiling of what the full model can reach through that VAE.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from facebench.degrade import jpeg_roundtrip
from facebench.image_quality import QualityMeter
from facebench.mlsm.dark_curve import inverse_dark_curve
from facebench.mlsm.data import to_tensor, to_uint8
from facebench.mlsm.inference import enhance_padded, pad_to
from facebench.mlsm.model import MLSM


def _reconstruct(vae, image: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = image.shape[-2:]
    return vae(pad_to(image, multiple), sample=False)[0][..., :h, :w]


@torch.no_grad()
def validate(model: MLSM, stage: str, pairs: Sequence[Tuple[str, np.ndarray, np.ndarray]], qf: int,
             device: torch.device) -> Dict[str, float]:
    """Mean PSNR (dB), SSIM, PSNR-B (dB) and count over `pairs` [(id, low uint8 RGB, high uint8 RGB)],
    dark inputs JPEG-compressed at `qf`; {} when there are no pairs. Leaves the model in eval mode."""
    if not pairs:
        return {}
    model.eval()
    meter = QualityMeter()
    for _, low, high in pairs:
        dark = jpeg_roundtrip(low, qf)
        if stage == "vae-dark":
            lifted = model.dark_curve(to_tensor(dark).to(device))  # VAE_C works on the curve; scored in the image
            out = inverse_dark_curve(_reconstruct(model.vae_dark, lifted, model.config.multiple).clamp(0, 1),
                                     model.config.dark_curve_eps)
            reference = dark
        elif stage == "vae-normal":
            out, reference = _reconstruct(model.vae_normal, to_tensor(high).to(device), model.config.multiple), high
        else:
            out, reference = enhance_padded(model, to_tensor(dark).to(device)), high
        meter.process(to_uint8(out), reference)
    return meter.evaluate()


@torch.no_grad()
def latent_errors(model: MLSM, dark: torch.Tensor, normal: torch.Tensor) -> List[Dict[str, float]]:
    """How well the mapping predicts VAE_N's latents of the normal-light image, per level (level 0 first).

    Args:
        dark, normal (Tensor[1, 3, H, W]): a compressed dark image and its normal-light pair in [0, 1],
            H and W multiples of `model.config.multiple` (use `pad_to`).
    Returns:
        [{"mapped": mean |M(l_c) - l_n|, "zero": mean |l_n|}] per level: "zero" is the error of predicting
        nothing (VAE_N's prior mean), so a useful mapping has mapped < zero at every mapped level.
    """
    mapped, _ = model.map_latents(dark)
    _, normal_codes = model.vae_normal.encode(normal, sample=False)
    return [{"mapped": float((m - n).abs().mean()), "zero": float(n.abs().mean())}
            for m, n in zip(mapped, normal_codes)]
