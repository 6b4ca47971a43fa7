"""`facebench train-enhancer mlsm`: the click command that turns options into the frozen configs."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
import torch

from facebench.mlsm.config import LossConfig, ModelConfig
from facebench.mlsm.data import DataConfig
from facebench.mlsm.losses import MissingVGGError
from facebench.mlsm.train import EXPORT_NAME, TrainOptions, train
from facebench.training import NonFiniteLossError

_D = ModelConfig()
_L = LossConfig()
_DATA = DataConfig()


def _qfs(text: str):
    """'60,70,80' or a range '60-100' (both ends included) -> tuple of ints."""
    try:
        parts = [v for v in text.replace(" ", "").split(",") if v]
        values = tuple(q for v in parts for q in (
            range(int(v.split("-")[0]), int(v.split("-")[1]) + 1) if "-" in v else (int(v),)))
    except (ValueError, IndexError):
        raise click.BadParameter(f"{text!r}: expected comma-separated integers or a range, e.g. 60,70,80,90 "
                                 "or 60-100") from None
    if not values or not all(1 <= q <= 100 for q in values):
        raise click.BadParameter(f"{text!r}: quality factors must be in 1..100")
    return values


@click.command("mlsm")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--stage", type=click.Choice(["vae-dark", "vae-normal", "mapping", "refine", "all"]), default="all",
              show_default=True, help="'refine' adds the refinement head to a finished run (with --refine-width).")
@click.option("--paired", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Folder with low/ and high/ (optional pairs.csv). Repeatable.")
@click.option("--dark", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Unpaired dark photos. Repeatable.")
@click.option("--normal", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Unpaired normal-light photos.")
@click.option("--synthetic", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Normal-light photos to darken (facebench.lowlight) into synthetic pairs.")
@click.option("--val-count", default=_DATA.val_count, show_default=True,
              help="Pairs held out for validation and checkpoint selection (just before the test pairs).")
@click.option("--test-count", default=_DATA.test_count, show_default=True,
              help="The last pairs, never loaded: kept for reporting.")
@click.option("--qfs", default=f"{min(_DATA.qfs)}-{max(_DATA.qfs)}", show_default=True,
              help="JPEG QFs for dark inputs, drawn per crop (the paper trains one model per QF).")
@click.option("--crop", default=_DATA.crop, show_default=True,
              help="Crop side (paper: 64); a multiple of the model's size multiple.")
@click.option("--max-side", default=_DATA.max_side, show_default=True,
              help="Downscale larger images on load (0 = never).")
@click.option("--scale-range", nargs=2, type=float, default=_DATA.scale_range, show_default=True,
              help="Random rescale of each image before cropping.")
@click.option("--synthetic-fraction", default=_DATA.synthetic_fraction, show_default=True)
@click.option("--brightness-range", nargs=2, type=float, default=_DATA.brightness_range, show_default=True,
              help="Mean brightness of synthetic dark crops (DARK FACE frames: 0.021-0.054).")
@click.option("--street-lights", default=_DATA.street_lights, show_default=True,
              help="Share of synthetic pairs lit as a night street (glows and lamps; target evenly lit).")
@click.option("--mosaic", default=_DATA.mosaic, show_default=True,
              help="Share of synthetic pairs made as a 1x1-3x3 grid of whole photos shrunk into the crop "
                   "(faces as small as DARK FACE's).")
@click.option("--face-boxes", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="AFW-style face list (afw_faces_xyxy.json) whose photos make labelled face mosaics for "
                   "--w-face-boxes. Repeatable.")
@click.option("--face-fraction", default=_DATA.face_fraction, show_default=True,
              help="Share of paired items that are labelled face mosaics (with --face-boxes).")
@click.option("--target-noise", default=_DATA.target_noise, show_default=True,
              help="Share of a synthetic dark input's sensor noise kept in its target (0 = clean targets, as in "
                   "the paper; beyond the paper).")
@click.option("--cfa-noise", is_flag=True,
              help="Synthetic night frames recorded through an RGGB colour filter array and demosaiced, so their "
                   "noise is correlated over ~2 px like a real frame's (default: per-pixel noise).")
@click.option("--levels", type=click.IntRange(1, 4), default=_D.levels, show_default=True)
@click.option("--width", default=_D.width, show_default=True)
@click.option("--latent-channels", default=_D.latent_channels, show_default=True)
@click.option("--stem-downsample", default=_D.stem_downsample, show_default=True, help="l^0 at 1/2**s of the image.")
@click.option("--encoder-convs", default=_D.encoder_convs, show_default=True)
@click.option("--decoder-convs", default=_D.decoder_convs, show_default=True)
@click.option("--mapping-width", default=_D.mapping_width, show_default=True)
@click.option("--mapping-resblocks", default=_D.mapping_resblocks, show_default=True)
@click.option("--map-levels", type=click.IntRange(0, 4), default=_D.map_levels, show_default=True,
              help="Mapping networks on the top N levels only (0 = all; Table VI ablations).")
@click.option("--norm", type=click.Choice(["none", "instance"]), default=_D.norm, show_default=True,
              help="Normalisation in sub-encoders and ResBlocks (paper: instance).")
@click.option("--refine-width", default=_D.refine_width, show_default=True,
              help="Image-space refinement head after D_N (our extension; 0 = the paper's model).")
@click.option("--refine-context", default=_D.refine_context, show_default=True,
              help="Dilated convs (dilation 2, 4, ...) widening the refinement head's view to 9 + 4 (2**N - 1) px.")
@click.option("--no-mapping", is_flag=True, help="Table V ablation: encoder-decoder trained image-to-image.")
@click.option("--dark-curve-eps", default=_D.dark_curve_eps, show_default=True,
              help="VAE_C sees log(1 + x/eps) / log(1 + 1/eps) of the dark input x, lifting dark detail "
                   "(0.01 maps a mean of 0.04 to 0.35; beyond the paper); 0 = linear, the paper.")
@click.option("--perceptual", type=click.Choice(["vgg16", "vgg19", "ssim", "retinaface"]), default=_L.perceptual_kind,
              show_default=True, help="vgg16/vgg19 need ImageNet weights (--vgg-weights or the torch hub cache); "
              "ssim = 1 - SSIM; retinaface = features of the shipped face detector (offline).")
@click.option("--vgg-weights", type=click.Path(dir_okay=False), default=None)
@click.option("--w-l1", default=_L.l1, show_default=True)
@click.option("--w-perceptual", default=_L.perceptual, show_default=True)
@click.option("--w-gan", default=_L.gan, show_default=True)
@click.option("--w-kl", default=_L.kl, show_default=True)
@click.option("--w-latent", default=_L.latent, show_default=True)
@click.option("--w-detection", default=_L.detection, show_default=True,
              help="Opt-in detection-aware term (RetinaFace face probabilities, output vs target); beyond the paper.")
@click.option("--w-face-boxes", default=_L.face_boxes, show_default=True,
              help="Opt-in face-box term: RetinaFace's training loss on the labelled face mosaics (--face-boxes); "
                   "beyond the paper.")
@click.option("--w-gradient", default=_L.gradient, show_default=True,
              help="Opt-in image-gradient L1 (output vs target) in the mapping and refine stages: asks for the "
                   "target's local detail; beyond the paper (it lowered AP on real frames: MODEL_CARD.md, phase 8).")
@click.option("--w-mean-path", default=_L.mean_path, show_default=True,
              help="VAE stages: also reconstruct from the latent means, as inference does (0 = the paper's loss).")
@click.option("--w-image-l1", default=_L.image_l1, show_default=True,
              help="Image L1 in the mapping stage (our addition to Eq. 18; 0 = the paper's loss).")
@click.option("--steps", default=2000, show_default=True,
              help="Mapping (or no-mapping) stage optimisation steps (the paper counts 500 epochs).")
@click.option("--vae-steps", default=2000, show_default=True, help="Steps of each VAE stage (paper: 1000 epochs).")
@click.option("--refine-steps", default=1000, show_default=True, help="Steps of the refine stage.")
@click.option("--batch-size", default=8, show_default=True, help="Paper: 16.")
@click.option("--lr", default=2e-4, show_default=True, help="Adam learning rate (paper: 2e-4).")
@click.option("--decay-start", default=0.5, show_default=True,
              help="Fraction of steps before linear LR decay to 0 (the paper decays linearly from the start).")
@click.option("--checkpoint-every", default=100, show_default=True)
@click.option("--val-every", default=500, show_default=True)
@click.option("--val-qf", default=90, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--threads", default=0, show_default=True, help="torch CPU threads (0 = torch default).")
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where it stopped.")
@click.option("--no-progress", is_flag=True)
def train_mlsm(out_dir, stage, paired, dark, normal, synthetic, val_count, test_count, qfs, crop, max_side,
               scale_range, synthetic_fraction, brightness_range, street_lights, mosaic, face_boxes, face_fraction,
               target_noise, cfa_noise, levels, width, latent_channels,
               stem_downsample, encoder_convs, decoder_convs, mapping_width, mapping_resblocks, map_levels, norm,
               refine_width, refine_context, no_mapping, dark_curve_eps, perceptual, vgg_weights, w_l1, w_perceptual,
               w_gan, w_kl, w_latent, w_detection, w_face_boxes, w_gradient, w_mean_path, w_image_l1, steps, vae_steps,
               refine_steps,
               batch_size, lr, decay_start, checkpoint_every, val_every, val_qf, seed, device, threads, resume,
               no_progress):
    """Train MLSM (VAEs, then latent mapping, then the optional refinement head) on paired, unpaired and
    synthetic data. Prints each stage's validation and where the model went."""
    if threads:
        torch.set_num_threads(threads)
    try:
        model_cfg = ModelConfig(levels=levels, width=width, latent_channels=latent_channels,
                                stem_downsample=stem_downsample, encoder_convs=encoder_convs,
                                decoder_convs=decoder_convs, mapping_width=mapping_width,
                                mapping_resblocks=mapping_resblocks, map_levels=map_levels, norm=norm,
                                refine_width=refine_width, refine_context=refine_context,
                                no_mapping=no_mapping, dark_curve_eps=dark_curve_eps)
        loss_cfg = LossConfig(l1=w_l1, perceptual=w_perceptual, perceptual_kind=perceptual, gan=w_gan, kl=w_kl,
                              latent=w_latent, image_l1=w_image_l1, mean_path=w_mean_path,
                              detection=w_detection, face_boxes=w_face_boxes, gradient=w_gradient)
        data_cfg = DataConfig(paired=tuple(paired), dark=tuple(dark), normal=tuple(normal), synthetic=tuple(synthetic),
                              val_count=val_count, test_count=test_count, qfs=_qfs(qfs), crop=crop, max_side=max_side,
                              scale_range=tuple(scale_range), synthetic_fraction=synthetic_fraction,
                              brightness_range=tuple(brightness_range), street_lights=street_lights,
                              mosaic=mosaic, face_boxes=tuple(face_boxes), face_fraction=face_fraction,
                              target_noise=target_noise, cfa_noise=cfa_noise)
        opts = TrainOptions(out_dir=out_dir, stage=stage, steps=steps, vae_steps=vae_steps,
                            refine_steps=refine_steps, batch_size=batch_size, lr=lr, decay_start=decay_start,
                            checkpoint_every=checkpoint_every, val_every=val_every, log_every=10, val_qf=val_qf,
                            seed=seed, device=device, resume=resume, vgg_weights=vgg_weights,
                            progress=not no_progress,
                            command="facebench train-enhancer mlsm " + shlex.join(sys.argv[3:]))
        results = train(model_cfg, loss_cfg, data_cfg, opts)
    except (MissingVGGError, NonFiniteLossError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    for name, metrics in results.items():
        if metrics:  # only the main process validates
            click.echo(f"{name}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
    if results and any(results.values()):
        model = Path(out_dir) / EXPORT_NAME
        click.echo(f"model written to {model} (use it with --weights mlsm={model})")
