"""`facebench train-enhancer mrvae`: options -> TrainConfig, with a CPU preset (default) and `--paper`.

Presets (an option given on the command line overrides its preset value):
    cpu    width 16 (~4.3 M parameters, ~17 MB), random 128 x 128 crops with flips / rotations, batch 4,
           dark inputs JPEG-compressed at QF 60..100, 6000 steps.
Synthetic darks (both presets): `--synthetic` photos through DARK FACE's night camera
(facebench.lowlight.darken_like_darkface) at a mean brightness log-uniform in --brightness-range.
    paper  the authors' config: width 64 (67,982,025 values), whole images resized to 512 x 512, no
           augmentation, no JPEG, batch 4, 20000 steps. For a GPU; ~100x the CPU preset's cost per step.
Both: Adam, lr 1e-3 * 0.96^(step / 5000) floored at 1e-6, loss 10 L2(GR) + L1(DR) + KL + content.
"""
from __future__ import annotations

from typing import Tuple

import click
import torch

from facebench.checkpoint import CheckpointError
from facebench.enhancers.mrvae.data import DataConfig
from facebench.enhancers.mrvae.model import MRVAEConfig
from facebench.enhancers.mrvae.train import TrainConfig, train
from facebench.training import NonFiniteLossError, is_main_process

PRESETS = {
    "cpu": {"width": 16, "crop": 128, "resize": 0, "qfs": "60-100", "steps": 6000, "batch_size": 4},
    "paper": {"width": 64, "crop": 512, "resize": 512, "qfs": "none", "steps": 20000, "batch_size": 4},
}


def parse_qfs(text: str) -> Tuple[int, ...]:
    """'60-100' -> 60..100; '60,90' -> (60, 90); 'none' -> () (no compression)."""
    if text.strip().lower() == "none":
        return ()
    try:
        values = tuple(q for part in text.split(",") for q in (
            range(int(part.split("-")[0]), int(part.split("-")[1]) + 1) if "-" in part else (int(part),)))
    except (ValueError, IndexError):
        values = ()
    if not values or not all(1 <= q <= 100 for q in values):
        raise click.BadParameter(f"{text!r}: expected 'none', 'LO-HI' or 'Q1,Q2,...' with QFs in 1..100",
                                 param_hint="--qfs")
    return values


def build_config(paper: bool, paired, synthetic, holdout, width, crop, resize, qfs, steps, batch_size, lr,
                 synthetic_fraction, brightness_range, seed, save_every, log_every) -> TrainConfig:
    """The TrainConfig of the command line: preset values for every option left at None."""
    preset = PRESETS["paper" if paper else "cpu"]

    def pick(value, key):
        return preset[key] if value is None else value

    data = DataConfig(paired=tuple(paired), synthetic=tuple(synthetic), holdout=holdout,
                      synthetic_fraction=synthetic_fraction, brightness_range=tuple(brightness_range),
                      qfs=parse_qfs(pick(qfs, "qfs")), crop=pick(crop, "crop"), resize=pick(resize, "resize"),
                      batch_size=pick(batch_size, "batch_size"), seed=seed)
    return TrainConfig(data=data, architecture=MRVAEConfig(pick(width, "width")), steps=pick(steps, "steps"), lr=lr,
                       save_every=save_every, log_every=log_every)


@click.command("mrvae")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--paired", multiple=True, type=click.Path(exists=True, file_okay=False, resolve_path=True),
              help="Folder with low/ and high/ pairs (e.g. SICE part 1). Repeatable.")
@click.option("--synthetic", multiple=True, type=click.Path(exists=True, file_okay=False, resolve_path=True),
              help="Normal-light photos darkened on the fly (DARK FACE-like night camera) into pairs. Repeatable.")
@click.option("--holdout", default=25, show_default=True, type=click.IntRange(min=0),
              help="The last N pairs by name of each --paired folder are never used (validation + test).")
@click.option("--paper", is_flag=True, help="The authors' config (width 64, 512 x 512, no JPEG); for a GPU.")
@click.option("--width", type=click.IntRange(min=2), default=None, help="Channels of level 1 [cpu 16, paper 64].")
@click.option("--crop", type=click.IntRange(min=16), default=None, help="Random crop side, multiple of 16 [128].")
@click.option("--resize", type=click.IntRange(min=0), default=None,
              help="Resize whole images to N x N instead of cropping (0 = crop) [cpu 0, paper 512].")
@click.option("--qfs", default=None, help="JPEG QFs of dark inputs: 'LO-HI', 'Q1,Q2' or 'none' [cpu 60-100, paper none].")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimiser steps [cpu 6000, paper 20000].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="[4]")
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--synthetic-fraction", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Share of synthetic pairs when both sources are given.")
@click.option("--brightness-range", nargs=2, type=float, default=(0.012, 0.2), show_default=True,
              help="Mean brightness (0..1, log-uniform) of synthetic darks, made by DARK FACE's night camera "
                   "(facebench.lowlight.darken_like_darkface); DARK FACE frames are 0.021..0.054.")
@click.option("--seed", default=0, show_default=True)
@click.option("--save-every", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--log-every", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N")
@click.option("--threads", default=0, show_default=True, type=click.IntRange(min=0), help="torch CPU threads (0 = default).")
@click.option("--resume", is_flag=True, help="Continue exactly from OUT/last.pt (only --steps and intervals may change).")
def train_mrvae(out: str, device: str, threads: int, resume: bool, **options) -> None:
    """Train MR-VAE (global + detail reconstruction VAE) on paired and synthetic low-light images."""
    if threads:
        torch.set_num_threads(threads)
    try:
        config = build_config(**options)
        final = train(config, out, device=device, resume=resume)
    except (ValueError, CheckpointError, NonFiniteLossError) as exc:
        raise click.ClickException(str(exc)) from None
    if is_main_process():  # under torchrun, rank 0 wrote the file
        click.echo(f"weights written to {final} (use: --enhancer mrvae --weights {final})")

