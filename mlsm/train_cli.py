"""`facebench train-enhancer mlsm`: the click command that turns options into the frozen configs."""
from __future__ import annotations

import shlex
import sys

import click
import torch

from facebench.mlsm.config import LossConfig, ModelConfig
from facebench.mlsm.data import DataConfig
from facebench.mlsm.losses import MissingVGGError
from facebench.mlsm.train import TrainOptions, train
from facebench.training import NonFiniteLossError

_D = ModelConfig()
_L = LossConfig()
_DATA = DataConfig()


def _qfs(text: str):
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected comma-separated integers, e.g. 60,70,80,90") from None
    if not values or not all(1 <= q <= 100 for q in values):
        raise click.BadParameter(f"{text!r}: quality factors must be in 1..100")
    return values


@click.command("mlsm")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--stage", type=click.Choice(["vae-dark", "vae-normal", "mapping", "all"]), default="all", show_default=True)
@click.option("--paired", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Folder with low/ and high/ (optional pairs.csv). Repeatable.")
@click.option("--dark", multiple=True, type=click.Path(exists=True, file_okay=False), help="Unpaired dark photos. Repeatable.")
@click.option("--normal", multiple=True, type=click.Path(exists=True, file_okay=False), help="Unpaired normal-light photos.")
@click.option("--synthetic", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Normal-light photos to darken (facebench.lowlight) into synthetic pairs.")
@click.option("--val-count", default=_DATA.val_count, show_default=True, help="Held-out pairs (the last ones).")
@click.option("--qfs", default=",".join(map(str, _DATA.qfs)), show_default=True, help="JPEG QFs for dark inputs.")
@click.option("--crop", default=_DATA.crop, show_default=True)
@click.option("--max-side", default=_DATA.max_side, show_default=True, help="Downscale larger images on load (0 = never).")
@click.option("--synthetic-fraction", default=_DATA.synthetic_fraction, show_default=True)
@click.option("--levels", type=click.IntRange(1, 4), default=_D.levels, show_default=True)
@click.option("--width", default=_D.width, show_default=True)
@click.option("--latent-channels", default=_D.latent_channels, show_default=True)
@click.option("--stem-downsample", default=_D.stem_downsample, show_default=True, help="l^0 at 1/2**s of the image.")
@click.option("--encoder-convs", default=_D.encoder_convs, show_default=True)
@click.option("--decoder-convs", default=_D.decoder_convs, show_default=True)
@click.option("--mapping-width", default=_D.mapping_width, show_default=True)
@click.option("--mapping-resblocks", default=_D.mapping_resblocks, show_default=True)
@click.option("--no-mapping", is_flag=True, help="Table V ablation: encoder-decoder trained image-to-image.")
@click.option("--perceptual", type=click.Choice(["vgg16", "vgg19", "ssim"]), default=_L.perceptual_kind, show_default=True,
              help="vgg16/vgg19 need ImageNet weights (--vgg-weights or the torch hub cache); ssim = 1 - SSIM substitute.")
@click.option("--vgg-weights", type=click.Path(dir_okay=False), default=None)
@click.option("--w-l1", default=_L.l1, show_default=True)
@click.option("--w-perceptual", default=_L.perceptual, show_default=True)
@click.option("--w-gan", default=_L.gan, show_default=True)
@click.option("--w-kl", default=_L.kl, show_default=True)
@click.option("--w-latent", default=_L.latent, show_default=True)
@click.option("--steps", default=2000, show_default=True, help="Mapping (or no-mapping) stage steps.")
@click.option("--vae-steps", default=2000, show_default=True, help="Steps of each VAE stage.")
@click.option("--batch-size", default=8, show_default=True)
@click.option("--lr", default=2e-4, show_default=True)
@click.option("--decay-start", default=0.5, show_default=True, help="Fraction of steps before linear LR decay.")
@click.option("--checkpoint-every", default=100, show_default=True)
@click.option("--val-every", default=500, show_default=True)
@click.option("--val-qf", default=90, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--threads", default=0, show_default=True, help="torch CPU threads (0 = torch default).")
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where it stopped.")
@click.option("--no-progress", is_flag=True)
def train_mlsm(out_dir, stage, paired, dark, normal, synthetic, val_count, qfs, crop, max_side, synthetic_fraction,
               levels, width, latent_channels, stem_downsample, encoder_convs, decoder_convs, mapping_width,
               mapping_resblocks, no_mapping, perceptual, vgg_weights, w_l1, w_perceptual, w_gan, w_kl, w_latent,
               steps, vae_steps, batch_size, lr, decay_start, checkpoint_every, val_every, val_qf, seed, device,
               threads, resume, no_progress):
    """Train MLSM (VAEs, then latent mapping) on paired, unpaired and synthetic data."""
    if threads:
        torch.set_num_threads(threads)
    try:
        model_cfg = ModelConfig(levels, width, latent_channels, stem_downsample, encoder_convs, decoder_convs,
                                mapping_width, mapping_resblocks, no_mapping)
        loss_cfg = LossConfig(w_l1, w_perceptual, perceptual, w_gan, w_kl, w_latent)
        data_cfg = DataConfig(tuple(paired), tuple(dark), tuple(normal), tuple(synthetic), val_count, _qfs(qfs),
                              crop, max_side, synthetic_fraction)
        opts = TrainOptions(out_dir, stage, steps, vae_steps, batch_size, lr, decay_start, checkpoint_every,
                            val_every, 10, val_qf, seed, device, resume, vgg_weights, not no_progress,
                            "facebench train-enhancer mlsm " + shlex.join(sys.argv[3:]))
        results = train(model_cfg, loss_cfg, data_cfg, opts)
    except (MissingVGGError, NonFiniteLossError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    for name, metrics in results.items():
        if metrics:  # only the main process validates
            click.echo(f"{name}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
