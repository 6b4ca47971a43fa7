"""PyramidBox training loop (the public recipe): SGD on face + head multibox losses over augmented crops.

Recipe (yxlijun/Pyramidbox.pytorch): VGG16 backbone from an ImageNet file, every other layer Xavier-
initialised; SGD lr 5e-4 (batch 4), momentum 0.9, weight decay 5e-4, lr x0.1 at 80k/100k/120k steps;
640x640 crops (see `augment`), losses of `loss`. Checkpoints: `OUT/last.pt` (full training state,
exact resume) every `save_every` steps, and `OUT/pyramidbox.pth` ({'model': state_dict, 'metadata'}, the
detector plugin reads it) at the end. torchrun-aware (DDP, one batch per process).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from facebench.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from facebench.detectors.pyramidbox.augment import AugmentConfig
from facebench.detectors.pyramidbox.loss import pyramidbox_losses
from facebench.detectors.pyramidbox.model import PyramidBoxNet
from facebench.detectors.pyramidbox.train_data import TrainBatches
from facebench.training import (CSVLogger, DistributedContext, check_finite, load_training_state, save_training_state,
                                seed_everything, torchrun_process)
from facebench.worker_processes import worker_context

# Indices of the VGG16 convolutions in `PyramidBoxNet.vgg` (= torchvision's vgg16().features), plus fc6, fc7.
VGG_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
FC_CONVS = (31, 33)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (written to OUT/config.json).

    Attributes:
        data: dataset path (WIDER FACE or DARK FACE layout, read by facebench.datasets.load_dataset).
        out: run directory.
        vgg: ImageNet VGG16 weights (torchvision `vgg16` state dict, or the SSD "reduced fc" file with
            fc6/fc7 as convolutions); None = random initialisation.
        steps, batch_size, lr, momentum, weight_decay, lr_steps, gamma: SGD schedule.
        size, anchor_sampling_prob, min_face, distort: augmentation (see AugmentConfig).
        seed, workers, device, log_every, save_every, limit: run control (limit = first N images).
    """

    data: str
    out: str
    vgg: Optional[str] = None
    steps: int = 150_000
    batch_size: int = 4
    lr: float = 5e-4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_steps: Tuple[int, ...] = (80_000, 100_000, 120_000)
    gamma: float = 0.1
    size: int = 640
    anchor_sampling_prob: float = 0.5
    min_face: float = 6.0
    distort: bool = True
    seed: int = 0
    workers: int = 2
    device: str = "auto"
    log_every: int = 10
    save_every: int = 1000
    limit: Optional[int] = None

    def __post_init__(self):
        if self.size < 32 or self.size % 32 or (self.batch_size < 2 and self.size < 160):
            raise ValueError(f"pyramidbox training: crop size {self.size} with batch size {self.batch_size}: expected "
                             "a multiple of 32, and >= 160 for batch size 1 (BatchNorm needs > 1 value per "
                             "channel on the 1/128 map)")

    def augment_config(self) -> AugmentConfig:
        return AugmentConfig(size=self.size, anchor_sampling_prob=self.anchor_sampling_prob,
                             min_face=self.min_face, distort=self.distort)


def _xavier(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def load_vgg16(net: PyramidBoxNet, path: "str | Path") -> int:
    """Copy ImageNet VGG16 convolutions from `path` into `net.vgg`; returns the number of layers copied.

    Accepts torchvision's vgg16 state dict (`features.<i>.*`, fc6/fc7 then stay Xavier-initialised) or
    the SSD "reduced fc" file (`<i>.*` for i in 0..33, fc6/fc7 included).

    Raises:
        CheckpointError: a VGG conv layer is missing or has another shape (names the file and key).
    """
    raw = load_checkpoint(path)
    state = {k[len("features."):] if k.startswith("features.") else k: v for k, v in raw.items()}
    copied = {}
    for index in VGG_CONVS + FC_CONVS:
        for kind in ("weight", "bias"):
            key, target = f"{index}.{kind}", getattr(net.vgg[index], kind)
            if key not in state:
                if index in FC_CONVS:
                    continue
                raise CheckpointError(f"{path}: VGG16 key 'features.{key}' (or '{key}') missing; expected a "
                                      "torchvision vgg16 state dict or the SSD vgg16_reducedfc file")
            if state[key].shape != target.shape:
                raise CheckpointError(f"{path}: {key} has shape {tuple(state[key].shape)}, "
                                      f"expected {tuple(target.shape)}")
            copied[f"{index}.{kind}"] = state[key]
    net.vgg.load_state_dict(copied, strict=False)
    return len(copied) // 2


def build_training_net(vgg: Optional[str] = None) -> PyramidBoxNet:
    """A PyramidBoxNet initialised as the public recipe does (Xavier everywhere, VGG16 from `vgg`)."""
    net = PyramidBoxNet()
    net.apply(_xavier)
    if vgg:
        load_vgg16(net, vgg)
    return net


def _load_samples(config: TrainConfig):
    from facebench.datasets import load_dataset
    return load_dataset(config.data, limit=config.limit).samples


def train(config: TrainConfig, resume: Optional[str] = None) -> Path:
    """Run (or resume) training; returns the path of the final `pyramidbox.pth`."""
    with torchrun_process(config.device) as (ctx, device):
        return _train(config, resume, ctx, device)


def _train(config: TrainConfig, resume: Optional[str], ctx: DistributedContext, device: torch.device) -> Path:
    out = Path(config.out)
    seed_everything(config.seed + ctx.rank)
    net = build_training_net(config.vgg).to(device).train()
    model = nn.parallel.DistributedDataParallel(net) if ctx.enabled else net
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.lr_steps), config.gamma)
    start = 0
    if resume:
        saved = load_training_state(resume, {"net": net}, {"sgd": optimizer}, {"lr": scheduler}, device)
        if saved["metadata"].get("config", {}).get("seed") != config.seed:
            raise CheckpointError(f"{resume}: saved with seed {saved['metadata'].get('config', {}).get('seed')}, "
                                  f"this run has seed {config.seed}; resume with the same settings")
        start = int(saved["step"])
    batches = TrainBatches(_load_samples(config), config.batch_size, config.augment_config(), config.seed, ctx.rank)
    loader = DataLoader(batches, batch_size=None, sampler=range(start, config.steps), num_workers=config.workers,
                        multiprocessing_context=worker_context(config.workers))
    metadata = {"config": asdict(config), "dataset": {"path": str(config.data), "images": len(batches.samples)}}
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(metadata, indent=2))
    logger, last = CSVLogger(out / "log.csv"), (out / "last.pt" if resume else None)
    for step, (images, faces) in zip(range(start, config.steps), loader):
        losses = train_step(model, optimizer, images.to(device), [f.to(device) for f in faces], step, last, ctx)
        scheduler.step()
        done = step + 1
        if ctx.is_main and (done % config.log_every == 0 or done == config.steps):
            logger.log({"step": done, "lr": scheduler.get_last_lr()[0], **{k: float(v) for k, v in losses.items()}})
        if ctx.is_main and (done % config.save_every == 0 or done == config.steps):
            last = out / "last.pt"
            save_training_state(last, {"net": net}, {"sgd": optimizer}, {"lr": scheduler}, done, metadata)
    final = out / "pyramidbox.pth"
    if ctx.is_main:
        save_checkpoint(final, {"model": net.state_dict(), "metadata": {**metadata, "steps": config.steps}})
    return final


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, faces,
               step: int = 0, last_checkpoint: Optional[Path] = None,
               ctx: DistributedContext = DistributedContext()) -> Dict[str, torch.Tensor]:
    """One SGD step on a batch.

    Args:
        images (Tensor[B, 3, S, S]): network input (RGB 0..255 minus the mean).
        faces: B Tensors[M_i, 4], face boxes (x1, y1, x2, y2) normalised by S.
        ctx: the torchrun ranks, which stop together when one of them sees a NaN/inf loss.

    Returns:
        the loss terms before the step (detached).
    """
    losses = pyramidbox_losses(model(images), faces)
    check_finite(losses, step, last_checkpoint, ctx)
    optimizer.zero_grad(set_to_none=True)
    sum(losses.values()).backward()
    optimizer.step()
    return {k: v.detach() for k, v in losses.items()}
