"""`facebench train-enhancer lightendiffusion stage1|stage2`: the two training stages from the command line.

Options left unset take the small CPU configuration, or with `--full` the authors' network and recipe
(config.FULL_PRESETS); options given explicitly always win.
"""
from __future__ import annotations

from typing import Any, Callable

import click

from facebench.enhancers.lightendiffusion.config import FULL_PRESETS, Stage1Config, Stage2Config, with_preset

_DATA = "../shared/data"


def _default(cls: type, stage: int, name: str) -> str:
    """'small default / --full default' of a preset option, for --help."""
    return f"default {getattr(cls, name)}, --full {FULL_PRESETS[stage][name]}"


def _common(cls: type, stage: int) -> Callable[[Callable], Callable]:
    """Decorator adding the options both stages share (in this order in --help)."""
    def d(name: str) -> str:
        return _default(cls, stage, name)

    folder = click.Path(exists=True, file_okay=False, resolve_path=True)  # absolute: runs record it, --resume compares
    options = [
        click.option("--dark", multiple=True, required=True, type=folder,
                     help=f"Folder of low-light photos, searched recursively; repeatable (e.g. {_DATA}/dark_real)."),
        click.option("--normal", multiple=True, required=True, type=folder,
                     help=f"Folder of normal-light photos (unpaired); repeatable (e.g. {_DATA}/normal_light)."),
        click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory."),
        click.option("--full", is_flag=True, help="The authors' network size and recipe (GPU-sized)."),
        click.option("--steps", type=int, default=None, help=f"Optimiser steps ({d('steps')})."),
        click.option("--batch-size", type=int, default=None,
                     help=f"Crops of each kind (dark, normal) per step ({d('batch_size')})."),
        click.option("--size", type=int, default=None, help=f"Square crop size in pixels ({d('size')})."),
        click.option("--lr", type=float, default=None, help=f"Adam learning rate ({d('lr')})."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--save-every", type=int, default=250, show_default=True, help="Steps between last.pt saves."),
        click.option("--log-every", type=int, default=10, show_default=True, help="Steps between log.csv rows."),
        click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N"),
        click.option("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)."),
        click.option("--resume", is_flag=True, help="Continue exactly from OUT/last.pt."),
    ]

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _run(stage: int, config: Any, resume: bool, threads: int) -> None:
    """Train stage 1 or 2 (torch is imported here, so --help stays fast)."""
    import torch

    from facebench.checkpoint import CheckpointError
    from facebench.enhancers.lightendiffusion import train
    from facebench.training import NonFiniteLossError, is_main_process

    if threads > 0:
        torch.set_num_threads(threads)
    try:
        final = (train.train_stage1 if stage == 1 else train.train_stage2)(config, resume=resume)
    except (ValueError, CheckpointError) as exc:
        raise click.UsageError(str(exc)) from None
    except NonFiniteLossError as exc:
        raise click.ClickException(str(exc)) from None
    if is_main_process():  # under torchrun, rank 0 wrote the file
        click.echo(f"weights written to {final}")


@click.group("lightendiffusion")
def train_lightendiffusion() -> None:
    """Train LightenDiffusion without paired data: stage1 (encoder/decoder + latent Retinex decomposition),
    then stage2 (diffusion denoiser with the self-constrained consistency loss, on the frozen stage-1 network).
    Defaults: a small CPU configuration; --full: the authors' network and recipe."""


@train_lightendiffusion.command("stage1")
@_common(Stage1Config, 1)
def stage1(full: bool, resume: bool, threads: int, dark, normal, **options) -> None:
    """Stage 1: train the CTDN (encoder/decoder + decomposition). Writes OUT/stage1.pt."""
    config = with_preset(Stage1Config, 1, full, dark=tuple(dark), normal=tuple(normal), **options)
    _run(1, config, resume, threads)


@train_lightendiffusion.command("stage2")
@_common(Stage2Config, 2)
@click.option("--stage1", "stage1_weights", required=True,
              type=click.Path(exists=True, dir_okay=False, resolve_path=True),
              help="Stage-1 weights: OUT/stage1.pt of a stage1 run (same --full), or the authors' "
                   "stage1_weight.pth.tar.")
@click.option("--sampling-steps", type=int, default=Stage2Config.sampling_steps, show_default=True,
              help="DDIM steps of the consistency-loss sample.")
@click.option("--scc-weight", type=float, default=Stage2Config.scc_weight, show_default=True,
              help="Weight of the self-constrained consistency loss.")
@click.option("--scc-every", type=click.IntRange(min=1), default=Stage2Config.scc_every, show_default=True,
              help="Compute the consistency loss on every N-th step only, weighted N x (1: the authors'). Its "
                   "20-step sample is ~3/4 of a CPU step's time; may change on --resume. See the model card.")
@click.option("--init", type=click.Path(exists=True, dir_okay=False, resolve_path=True), default="",
              help="Start the denoiser from this stage-2 file (lightendiffusion.pt of a run on the same --stage1), "
                   "e.g. to fine-tune at a larger --size; fresh optimiser and step 0.")
def stage2(full: bool, resume: bool, threads: int, dark, normal, stage1_weights: str, **options) -> None:
    """Stage 2: train the denoiser on the frozen stage-1 CTDN. Writes OUT/lightendiffusion.pt, the file
    `--enhancer lightendiffusion --weights` loads."""
    config = with_preset(Stage2Config, 2, full, dark=tuple(dark), normal=tuple(normal), stage1=stage1_weights,
                         **options)
    _run(2, config, resume, threads)
