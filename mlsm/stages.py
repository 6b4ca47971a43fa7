"""The MLSM training stages and their losses.

'vae-dark' / 'vae-normal' (Eq. 12/13): |x_hat - x|_1 + perceptual + LSGAN + KL on dark (compressed) or
    normal-light images alone, x_hat decoded from sampled latents; plus (ours, `LossConfig.mean_path`) the
    same L1 + perceptual for x_hat decoded from the latent means. Inference and the mapping stage decode
    means (Eq. 19), and a decoder trained on samples only is far off on means: levels the encoder does not
    need collapse to N(0, I) noise that the skip additions carry into the decoder (measured: 26.5 dB
    reconstruction from samples, 10.7 dB from means, after 250 steps).
'mapping' (Eq. 18, VAEs frozen): sum over mapped levels of |l~_n^i - l_n^i|_1 + perceptual(n~, n) +
    LSGAN(n~), plus our image L1 (`LossConfig.image_l1`). With `no_mapping` it trains VAE_C's structure
    image-to-image instead (Table V): L1 + perceptual + LSGAN.
'refine' (ours, only with `refine_width`; VAEs and mapping frozen): the image-space head
    (`facebench.mlsm.refine`) with L1 + perceptual + LSGAN on the final image.
The opt-in detection-aware (`LossConfig.detection`), face-box (`LossConfig.face_boxes`, on the batch's
labelled face mosaics) and image-gradient (`LossConfig.gradient`) terms join the losses of 'mapping' and
'refine'.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from facebench.mlsm.config import LossConfig
from facebench.mlsm.losses import PatchDiscriminator, gradient_l1, lsgan_generator_loss
from facebench.mlsm.model import MLSM

STAGES = ("vae-dark", "vae-normal", "mapping", "refine")


@dataclass
class Stage:
    """What one stage trains (`net`), its discriminator, which batches it eats ('dark', 'normal' or
    'pair') and how many optimisation steps it runs."""

    name: str
    net: nn.Module
    disc: nn.Module
    kind: str
    steps: int


def build_stage(model: MLSM, name: str, trained: Dict[str, object], steps: int, vae_steps: int,
                refine_steps: int, where: str) -> Stage:
    """The Stage `name` of `model`; `trained` holds the stages already finished (export metadata),
    `where` names the run in errors."""
    disc = PatchDiscriminator().to(next(model.parameters()).device)
    if model.config.no_mapping:
        if name != "mapping":
            raise ValueError(f"--no-mapping trains one image-to-image stage; use --stage mapping or all, not {name}")
        return Stage(name, model.vae_dark, disc, "pair", steps)
    if name in ("mapping", "refine"):
        needed = ("vae-dark", "vae-normal") + (("mapping",) if name == "refine" else ())
        missing = [s for s in needed if s not in trained]
        if missing:
            raise ValueError(f"{where}: stage(s) {', '.join(missing)} not trained yet; "
                             f"run --stage {missing[0]} first (or --stage all)")
        if name == "mapping":
            return Stage(name, model.mapping, disc, "pair", steps)
        if not model.config.refine_width:
            raise ValueError("--stage refine needs a refinement head: pass --refine-width N (e.g. 16)")
        return Stage(name, model.refine, disc, "pair", refine_steps)
    if name not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {name!r}")
    net = model.vae_dark if name == "vae-dark" else model.vae_normal
    return Stage(name, net, disc, "dark" if name == "vae-dark" else "normal", vae_steps)


def compute_losses(model: MLSM, stage: Stage, batch: Dict[str, torch.Tensor], weights: LossConfig,
                   perceptual: nn.Module, detection: Optional[nn.Module] = None,
                   face_boxes: Optional[nn.Module] = None
                   ) -> Tuple[Dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Named weighted loss terms (scalars, 'total' their sum) and the (output, target) images
    Tensor[B, 3, H, W] in [0, 1] that the discriminator then sees. `detection` (a `DetectionAwareLoss`)
    and `face_boxes` (a `FaceBoxLoss`) add the opt-in detector terms to the image-to-image stages."""
    w = weights
    if stage.name == "mapping" and not model.config.no_mapping:
        with torch.no_grad():
            _, dark_codes = model.vae_dark.encode(model.dark_curve(batch["dark"]), sample=False)
            _, normal_codes = model.vae_normal.encode(batch["normal"], sample=False)
        mapped = model.mapping(dark_codes)
        output = model.vae_normal.decode(mapped, batch["normal"].shape[-2:])
        target = batch["normal"]
        first = model.mapping.first_mapped  # levels without M_i are not trained
        terms = {"latent": w.latent * sum(F.l1_loss(m, n) for m, n in zip(mapped[first:], normal_codes[first:])),
                 "l1": w.image_l1 * F.l1_loss(output, target)}
    elif stage.name == "refine":
        with torch.no_grad():
            mapped, _ = model.map_latents(batch["dark"])
            decoded = model.vae_normal.decode(mapped, batch["dark"].shape[-2:])
        output, target = model.refine(batch["dark"], decoded), batch["normal"]
        terms = {"l1": w.l1 * F.l1_loss(output, target)}
    elif stage.name == "mapping":  # no-mapping ablation: deterministic encoder-decoder
        output, target = model.vae_dark(model.dark_curve(batch["dark"]), sample=False)[0], batch["normal"]
        terms = {"l1": w.l1 * F.l1_loss(output, target)}
    else:
        target = model.dark_curve(batch["dark"]) if stage.kind == "dark" else batch["normal"]
        output, latents = stage.net(target, sample=True)
        terms = {"l1": w.l1 * F.l1_loss(output, target), "kl": w.kl * latents.kl()}
        if w.mean_path:
            mean_output = stage.net.decode(latents.means, target.shape[-2:])
            terms["mean_l1"] = w.mean_path * w.l1 * F.l1_loss(mean_output, target)
            terms["mean_perceptual"] = w.mean_path * w.perceptual * perceptual(mean_output, target)
    terms["perceptual"] = w.perceptual * perceptual(output, target)
    if detection is not None and stage.kind == "pair":
        terms["detection"] = w.detection * detection(output, target)
    if face_boxes is not None and stage.kind == "pair":
        terms["face_boxes"] = w.face_boxes * face_boxes(output, batch["boxes"], batch["labelled"])
    if w.gradient and stage.kind == "pair":
        terms["gradient"] = w.gradient * gradient_l1(output, target)
    terms["gan"] = w.gan * lsgan_generator_loss(stage.disc(output))
    terms["total"] = sum(terms.values())
    return terms, output, target
