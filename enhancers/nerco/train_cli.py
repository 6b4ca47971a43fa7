"""`facebench train-enhancer nerco`: the click command (options -> NeRCoTrainConfig -> train)."""
from __future__ import annotations

from dataclasses import fields

import click
import torch

from facebench.enhancers.nerco.data import domain_files
from facebench.enhancers.nerco.train import NeRCoTrainConfig, paper_settings, train
from facebench.training import NonFiniteLossError

_DEFAULTS = {f.name: f.default for f in fields(NeRCoTrainConfig)
             if f.name not in ("dark", "normal", "paired", "holdout", "out")}
_PAPER_KEYS = ("steps", "decay_start", "load_size", "crop_size", "ngf", "blocks", "nrn_hidden", "ndf")


def _option(name: str, help_text: str, **kwargs):
    """A --name option defaulting to None (so --paper can tell which settings the user gave)."""
    default = _DEFAULTS[name]
    shown = f" [small default: {default}]" if name in _PAPER_KEYS else f" [default: {default!r}]"
    return click.option(f"--{name.replace('_', '-')}", name, default=None, type=type(default),
                        help=help_text + shown, **kwargs)


@click.command("nerco")
@click.option("--dark", default=None, type=click.Path(exists=True, file_okay=False, resolve_path=True),
              help="Folder of low-light photos (domain A), e.g. ../shared/data/dark_real.")
@click.option("--normal", default=None, type=click.Path(exists=True, file_okay=False, resolve_path=True),
              help="Folder of normal-light photos (domain B), e.g. ../shared/data/normal_light.")
@click.option("--paired", default=None, type=click.Path(exists=True, file_okay=False, resolve_path=True),
              help="Paired folder (low/, high/), e.g. ../shared/data/paired/sice_part1: low images join domain A, "
                   "high images domain B, drawn independently (still unpaired training). Alone or with --dark / "
                   "--normal.")
@click.option("--holdout", default=25, show_default=True, type=click.IntRange(min=0),
              help="Last pairs by name of --paired that are never loaded (kept for testing).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--paper", is_flag=True,
              help="The paper's configuration (ngf 64, 9 blocks, NRN 256, ndf 64, 512x512 crops, 100 + 200 epochs) "
                   "for settings not given explicitly; meant for a GPU.")
@_option("steps", "Optimiser steps.")
@_option("decay_start", "Step where the linear LR decay to 0 starts.")
@_option("batch_size", "Images per domain per step.")
@_option("load_size", "Photos resized to this square size...")
@_option("crop_size", "...then cropped to this (multiple of 4, >= 32).")
@_option("ngf", "Generator width (multiple of 16).")
@_option("blocks", "Residual blocks of G_A, G_B, Pre.")
@_option("nrn_hidden", "NRN MLP width.")
@_option("ndf", "Discriminator width.")
@_option("lr", "Adam learning rate (G and D).")
@_option("beta1", "Adam beta1.")
@_option("pool_size", "Generated-image pool size for the discriminators.")
@_option("clip", "Local CLIP checkpoint (e.g. OpenAI RN50.pt) for the text prior, read with open_clip_torch or "
                 "OpenAI's clip package. WITHOUT IT THE TEXT-PRIOR (CLIP) TERMS ARE LEFT OUT; all other losses "
                 "are the paper's. Never downloaded.")
@_option("clip_arch", "open_clip architecture name of --clip.")
@_option("seed", "Seed of weights, batches, pools, edge maps.")
@_option("save_every", "Steps between checkpoints (last.pt).")
@_option("log_every", "Steps between log.csv rows.")
@_option("device", "auto | cpu | cuda | cuda:N")
@_option("init", "Warm start: an authors' folder or a nerco.pt sets the test-time networks; a run's "
                 "last.pt sets every network (G_B and discriminators too). Optimisers and schedule start fresh.")
@click.option("--threads", default=0, help="torch CPU threads (0 = torch default).")
@click.option("--resume", is_flag=True, help="Continue exactly from OUT/last.pt.")
def train_nerco(dark: str, normal: str, paired: str, holdout: int, out: str, paper: bool, threads: int, resume: bool,
                **options) -> None:
    """Train NeRCo (NRN + generators + discriminators, dual closed-loop losses) on unpaired dark and
    normal-light photos (--dark / --normal folders and / or a --paired folder's two sides). Defaults are a
    small CPU configuration; --paper gives the paper's.

    The paper's CLIP text prior needs CLIP weights that facebench does not ship or download: pass --clip
    PATH (with open_clip_torch or OpenAI's clip installed) to use it; otherwise those terms are left out
    (recorded as text_prior in the checkpoint metadata). In the authors' released code those terms reach
    CLIP through a detaching image pool and add no gradient, so leaving them out changes no update there.
    """
    if threads > 0:
        torch.set_num_threads(threads)
    given = {k: v for k, v in options.items() if v is not None}
    dark, normal, paired = dark or "", normal or "", paired or ""  # "" = not given
    settings = {}
    try:
        if paper:
            counts = [len(files) for files in domain_files(dark, normal, paired, holdout)]
            settings = paper_settings(*counts, given.get("batch_size", _DEFAULTS["batch_size"]))
        config = NeRCoTrainConfig(dark=dark, normal=normal, paired=paired, holdout=holdout, out=out,
                                  **{**settings, **given})
        final = train(config, resume=resume)
    except (ValueError, FileNotFoundError, ImportError) as exc:
        raise click.UsageError(str(exc)) from None
    except NonFiniteLossError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"weights written to {final} (use: --enhancer nerco --weights {final})")
