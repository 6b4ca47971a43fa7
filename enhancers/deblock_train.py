"""`facebench train-enhancer deblock`: train DeblockNet on synthetic JPEG pairs made from any photo folder.

Each step draws `batch` random crops (size `crop`, a multiple of 16 so the JPEG 8 x 8 grid and 4:2:0
macroblocks start at the crop's corner) from the photos, flips / rotates them, darkens a fraction with
the physical low-light model (facebench.lowlight, so dark DARK FACE-like inputs are covered), compresses
each at a QF drawn uniformly from the QF set (OpenCV, facebench.degrade) and trains the network to undo
the compression (L1 loss against the uncompressed crop). The QF channel is 0 ("blind") on a
`blind_prob` fraction of crops. The batch of step k depends only on (seed, k), so `--resume` continues
exactly. Adam, constant LR for the first half, then linear decay to 0.

Run folder: last.pt (training state, atomic), log.csv, config.json, and at the end deblock.pt, the
weights file `--enhancer deblock --weights RUN/deblock.pt` loads.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import click
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from facebench import __version__
from facebench.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from facebench.datasets.images import IMAGE_SUFFIXES, images_under, read_image
from facebench.degrade import jpeg_roundtrip
from facebench.enhancers.deblock import DeblockNet, DeblockNetConfig
from facebench.atomic import write_json_atomic
from facebench.lowlight import darken, sample_model
from facebench.training import (CSVLogger, NonFiniteLossError, check_finite, linear_decay, load_training_state,
                                require_single_process, resolve_device, save_training_state, seed_everything)


@dataclass(frozen=True)
class DeblockTrainConfig:
    """Everything that changes the trained weights (stored in checkpoints; must match on --resume)."""

    data: Tuple[str, ...]
    qfs: Tuple[int, ...] = tuple(range(60, 91))
    steps: int = 9000
    batch: int = 16
    crop: int = 64
    lr: float = 3e-4
    blind_prob: float = 0.3
    dark_prob: float = 0.3
    seed: int = 0
    architecture: DeblockNetConfig = DeblockNetConfig()


def find_photos(folders: Sequence[str]) -> List[Path]:
    """Image files under `folders` (recursive), sorted; raises ValueError naming a folder without images."""
    photos = []
    for folder in folders:
        found = images_under(folder)
        if not found:
            raise ValueError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
        photos += found
    return photos


def load_photos(paths: Sequence[Path], crop: int) -> List[np.ndarray]:
    """Decode the photos (uint8 RGB [H, W, 3]); raises ValueError naming a photo smaller than `crop`."""
    images = []
    for path in paths:
        image = read_image(path)
        if min(image.shape[:2]) < crop:
            raise ValueError(f"{path}: {image.shape[1]}x{image.shape[0]} is smaller than the {crop}px crop")
        images.append(image)
    return images


def make_batch(images: Sequence[np.ndarray], config: DeblockTrainConfig, step: int
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The synthetic batch of `step`: (compressed, clean) Tensor[B, 3, crop, crop] in [0, 1], qf Tensor[B]
    (0 = blind). Deterministic in (config.seed, step)."""
    rng = np.random.default_rng([config.seed, step])
    low, high, qfs = [], [], []
    for _ in range(config.batch):
        image = images[rng.integers(len(images))]
        y = rng.integers(image.shape[0] - config.crop + 1)
        x = rng.integers(image.shape[1] - config.crop + 1)
        patch = np.rot90(image[y:y + config.crop, x:x + config.crop], k=rng.integers(4))
        patch = np.ascontiguousarray(patch[:, ::-1] if rng.random() < 0.5 else patch)
        if rng.random() < config.dark_prob:
            patch = darken(patch, sample_model(rng), rng)
        qf = int(rng.choice(config.qfs))
        low.append(jpeg_roundtrip(patch, qf))
        high.append(patch)
        qfs.append(0 if rng.random() < config.blind_prob else qf)

    def stack(arrays):
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255.0

    return stack(low), stack(high), torch.tensor(qfs, dtype=torch.float32)


def export_weights(net: DeblockNet, path: Path, config: DeblockTrainConfig, photos: Sequence[Path],
                   step: int, final_loss: Optional[float]) -> None:
    """Write the inference weights file: {"model": state_dict, "metadata": {...}} (atomic)."""
    save_checkpoint(path, {"model": net.state_dict(), "metadata": {
        "enhancer": "deblock",
        "architecture": dataclasses.asdict(net.config),
        "training": _config_dict(config),
        "photos": len(photos),
        "steps": step,
        "final_l1": final_loss,
        "facebench_version": __version__,
        "command": "facebench train-enhancer deblock",
    }})


def _config_dict(config: DeblockTrainConfig) -> dict:
    out = dataclasses.asdict(config)
    out["data"], out["qfs"] = list(config.data), list(config.qfs)
    return out


def train(config: DeblockTrainConfig, out: Path, device: torch.device, resume: bool = False,
          save_every: int = 200, log_every: int = 20, progress: bool = True) -> Path:
    """Train DeblockNet, checkpointing to `out`/last.pt; returns the exported weights path `out`/deblock.pt."""
    require_single_process("train-enhancer deblock")
    out.mkdir(parents=True, exist_ok=True)
    photos = find_photos(config.data)
    images = load_photos(photos, config.crop)
    seed_everything(config.seed)
    net = DeblockNet(config.architecture).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    scheduler = linear_decay(optimizer, config.steps, decay_start=config.steps // 2)
    state_path, start = out / "last.pt", 0
    if resume and state_path.is_file():
        saved = load_checkpoint(state_path)["metadata"]["config"]
        if saved != _config_dict(config):
            raise CheckpointError(f"{state_path}: saved training config differs from this command's; "
                                  "resume with the same options or use a new --out")
        start = load_training_state(state_path, {"model": net}, {"adam": optimizer}, {"lr": scheduler},
                                    map_location=device)["step"]
    write_json_atomic(out / "config.json", _config_dict(config))
    logger, meta = CSVLogger(out / "log.csv"), {"config": _config_dict(config), "enhancer": "deblock"}
    last_saved: Optional[Path] = state_path if start else None
    running, count, t0, loss_value = 0.0, 0, time.time(), None
    net.train()
    for step in tqdm(range(start, config.steps), initial=start, total=config.steps, disable=not progress,
                     desc="deblock", unit="step"):
        low, high, qf = (t.to(device) for t in make_batch(images, config, step))
        loss = F.l1_loss(net(low, qf), high)
        check_finite({"l1": loss}, step, last_saved)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_value = float(loss.detach())
        running, count = running + loss_value, count + 1
        done = step + 1
        if done % log_every == 0 or done == config.steps:
            logger.log({"step": done, "l1": running / count, "lr": scheduler.get_last_lr()[0],
                        "seconds": round(time.time() - t0, 1)})
            running, count = 0.0, 0
        if done % save_every == 0 or done == config.steps:
            save_training_state(state_path, {"model": net}, {"adam": optimizer}, {"lr": scheduler}, done, meta)
            last_saved = state_path
    net.eval()
    weights = out / "deblock.pt"
    export_weights(net, weights, config, photos, config.steps, loss_value)
    return weights


def _parse_qfs(text: str) -> Tuple[int, ...]:
    """'60-90' -> 60..90; '60,70,80,90' -> those; click usage error otherwise."""
    try:
        if "-" in text:
            lo, hi = (int(v) for v in text.split("-"))
            qfs = tuple(range(lo, hi + 1))
        else:
            qfs = tuple(int(v) for v in text.split(","))
    except ValueError:
        qfs = ()
    if not qfs or not all(1 <= q <= 100 for q in qfs):
        raise click.BadParameter(f"{text!r}: expected 'LO-HI' or 'Q1,Q2,...' with QFs in 1..100", param_hint="--qf")
    return qfs


@click.command("deblock")
@click.option("--data", multiple=True, required=True, type=click.Path(exists=True, file_okay=False, resolve_path=True),
              help="Folder of clean photos (searched recursively; repeatable).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--qf", "qf_text", default="60-90", show_default=True, help="QF set: 'LO-HI' or 'Q1,Q2,...'.")
@click.option("--steps", default=9000, show_default=True, type=click.IntRange(min=1))
@click.option("--batch", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--crop", default=64, show_default=True, type=click.IntRange(min=16), help="Multiple of 16.")
@click.option("--lr", default=3e-4, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--blind-prob", default=0.3, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of crops trained without their QF (blind mode).")
@click.option("--dark-prob", default=0.3, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of crops darkened with the low-light model before compression.")
@click.option("--width", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--blocks", default=4, show_default=True, type=click.IntRange(min=0), help="Residual blocks.")
@click.option("--unshuffle", default=4, show_default=True, type=click.Choice(["1", "2", "4", "8"]),
              help="Pixel-unshuffle factor (8 = one cell per JPEG block).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--resume", is_flag=True, help="Continue exactly from RUN/last.pt.")
@click.option("--save-every", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
@click.option("--threads", default=0, show_default=True, type=click.IntRange(min=0),
              help="torch CPU threads (0 = torch's default).")
@click.option("--progress/--no-progress", default=True, show_default=True)
def train_deblock(data, out, qf_text, steps, batch, crop, lr, blind_prob, dark_prob, width, blocks, unshuffle, seed,
                  resume, save_every, device, threads, progress):
    """Train the `deblock` enhancer on synthetic JPEG pairs made from clean photos."""
    if crop % 16:
        raise click.BadParameter(f"{crop}: expected a multiple of 16", param_hint="--crop")
    if threads:
        torch.set_num_threads(threads)
    config = DeblockTrainConfig(data=tuple(str(Path(d).resolve()) for d in data), qfs=_parse_qfs(qf_text),
                                steps=steps, batch=batch, crop=crop, lr=lr, blind_prob=blind_prob,
                                dark_prob=dark_prob, seed=seed, architecture=DeblockNetConfig(width, blocks, int(unshuffle)))
    try:
        weights = train(config, Path(out), resolve_device(device), resume=resume, save_every=save_every,
                        progress=progress)
    except (ValueError, CheckpointError, NonFiniteLossError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {weights}")
