"""`facebench train-enhancer zerodce`: train Zero-DCE with the zero-reference losses on dark photos.

The authors' recipe: every image resized to 256 x 256, batch 8, Adam (lr 1e-4, weight decay 1e-4),
gradient-norm clip 0.1, loss 200 L_TV + L_spa + 5 L_col + 10 L_exp (E = 0.6), 200 epochs.

Run directory (--out): config.json, log.csv (one row per logged step), last.pt (full training state,
for --resume), zerodce.pt (final weights {"model", "metadata"}; load with `--weights`).
Batches depend only on (seed, step), and the RNG state is saved, so a resumed run continues exactly.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List

import click
import cv2
import numpy as np
import torch

from facebench.checkpoint import save_checkpoint
from facebench.datasets.images import IMAGE_SUFFIXES, images_under, read_image
from facebench.enhancers.authors_weights import load_strict, read_state_dict
from facebench.enhancers.zerodce import ZeroDCENet, init_weights
from facebench.enhancers.zerodce_losses import ZeroReferenceWeights, zero_reference_losses
from facebench.training import (CSVLogger, NonFiniteLossError, check_finite, load_training_state,
                                require_single_process, resolve_device, save_training_state, seed_everything)


@dataclass(frozen=True)
class ZeroDCETrainConfig:
    """Everything that defines a training run (written to config.json and every checkpoint)."""

    dark: str  # folder of dark photos (searched recursively)
    out: str  # run directory
    steps: int = 20000  # optimiser steps (authors: 200 epochs of their 2,422 images at batch 8 ~ 60k)
    batch_size: int = 8
    size: int = 256  # images are resized to size x size (authors: 256)
    lr: float = 1e-4
    weight_decay: float = 1e-4
    grad_clip: float = 0.1  # max gradient norm
    exposure_level: float = 0.6  # E of L_exp
    seed: int = 0
    save_every: int = 500  # steps between checkpoints (last.pt)
    log_every: int = 10  # steps between log.csv rows
    device: str = "auto"
    init: str = ""  # optional weights to start from (authors' Epoch99.pth or a zerodce.pt); "" = random


def find_images(folder: "str | Path") -> List[Path]:
    """Image files under `folder` (recursive, sorted); a one-line error when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise click.UsageError(f"--dark {folder}: not a folder")
    files = images_under(folder)
    if not files:
        raise click.UsageError(f"--dark {folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def load_batch(files: List[Path], indices: List[int], size: int) -> torch.Tensor:
    """Images `indices` of `files` resized to size x size (OpenCV INTER_AREA): Tensor[B, 3, size, size] in [0, 1]."""
    arrays = [cv2.resize(read_image(files[i]), (size, size), interpolation=cv2.INTER_AREA) for i in indices]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255.0


def batch_indices(step: int, count: int, batch_size: int, seed: int) -> List[int]:
    """Indices of the images in batch `step`: a fresh permutation per epoch seeded by (seed, epoch)."""
    per_epoch = count // batch_size
    epoch, slot = divmod(step, per_epoch)
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    return order[slot * batch_size:(slot + 1) * batch_size].tolist()


def _check_config(config: ZeroDCETrainConfig, count: int) -> None:
    if count < config.batch_size:
        raise click.UsageError(f"--dark {config.dark}: {count} images, fewer than --batch-size {config.batch_size}")
    if config.size < 16:
        raise click.UsageError(f"--size {config.size}: must be >= 16 (L_exp uses 16x16 patches)")


def _check_resumable(saved: dict, config: ZeroDCETrainConfig, path: Path) -> None:
    """Everything but `steps` (and where to log) must match the run being resumed."""
    current = asdict(config)
    differ = [k for k in current if k not in ("steps", "out", "device") and saved.get(k) != current[k]]
    if differ:
        raise click.UsageError(f"--resume: {path} was trained with different {', '.join(differ)} "
                               f"({', '.join(f'{k}={saved.get(k)!r}' for k in differ)})")


def train(config: ZeroDCETrainConfig, resume: bool = False) -> Path:
    """Train Zero-DCE; returns the path of the final weights (out/zerodce.pt).

    With `resume`, continues exactly from out/last.pt (same config except `steps`).
    """
    require_single_process("train-enhancer zerodce")
    files = find_images(config.dark)
    _check_config(config, len(files))
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    seed_everything(config.seed)
    net = ZeroDCENet()
    init_weights(net)
    if config.init:
        load_strict(net, read_state_dict(config.init, "init")[0], config.init)
    net.to(device).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    last = out / "last.pt"
    step = 0
    if resume:
        if not last.is_file():
            raise click.UsageError(f"--resume: {last} does not exist (nothing to resume)")
        state = load_training_state(last, {"net": net}, {"adam": optimizer}, {}, map_location=device)
        _check_resumable(state["metadata"]["config"], config, last)
        step = state["step"]
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    logger = CSVLogger(out / "log.csv")
    weights = ZeroReferenceWeights(exposure_level=config.exposure_level)
    metadata = {"config": asdict(config), "images": len(files)}
    while step < config.steps:
        images = load_batch(files, batch_indices(step, len(files), config.batch_size, config.seed), config.size)
        images = images.to(device)
        enhanced, curves = net(images)
        losses = zero_reference_losses(enhanced, images, curves, weights)
        check_finite(losses, step, last if last.is_file() else None)
        total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
        optimizer.step()
        step += 1
        if step % config.log_every == 0 or step == config.steps:
            terms = {k: float(v.detach()) for k, v in losses.items()}
            logger.log({"step": step, "loss": float(total.detach()), **terms})
        if step % config.save_every == 0 or step == config.steps:
            save_training_state(last, {"net": net}, {"adam": optimizer}, {}, step, metadata)
    final = out / "zerodce.pt"
    save_checkpoint(final, {"model": net.state_dict(), "metadata": {**metadata, "step": step}})
    return final


@click.command("zerodce")
@click.option("--dark", required=True, type=click.Path(exists=True, file_okay=False, resolve_path=True),
              help="Folder of dark photos.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--steps", default=ZeroDCETrainConfig.steps, show_default=True, help="Optimiser steps.")
@click.option("--batch-size", default=ZeroDCETrainConfig.batch_size, show_default=True)
@click.option("--size", default=ZeroDCETrainConfig.size, show_default=True, help="Images resized to SIZE x SIZE.")
@click.option("--lr", default=ZeroDCETrainConfig.lr, show_default=True)
@click.option("--weight-decay", default=ZeroDCETrainConfig.weight_decay, show_default=True)
@click.option("--grad-clip", default=ZeroDCETrainConfig.grad_clip, show_default=True, help="Max gradient norm.")
@click.option("--exposure-level", default=ZeroDCETrainConfig.exposure_level, show_default=True, help="E of L_exp.")
@click.option("--seed", default=ZeroDCETrainConfig.seed, show_default=True)
@click.option("--save-every", default=ZeroDCETrainConfig.save_every, show_default=True)
@click.option("--log-every", default=ZeroDCETrainConfig.log_every, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N")
@click.option("--init", "init", default="", help="Start from these weights (e.g. the authors' Epoch99.pth).")
@click.option("--threads", default=0, help="torch CPU threads (0 = torch default).")
@click.option("--resume", is_flag=True, help="Continue exactly from OUT/last.pt.")
def train_zerodce(threads: int, resume: bool, **options) -> None:
    """Train Zero-DCE with the zero-reference losses on a folder of dark photos (no targets needed)."""
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        final = train(ZeroDCETrainConfig(**options), resume=resume)
    except (ValueError, NonFiniteLossError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"weights written to {final} (use: --enhancer zerodce --weights {final})")
