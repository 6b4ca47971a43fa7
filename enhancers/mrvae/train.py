"""Training MR-VAE (`facebench train-enhancer mrvae`): the authors' loss and optimiser, facebench's trainer pieces.

Per step: a (low, high) batch (data.py), eps ~ N(0, 1) for each of the two encodings (the low-light
input and the target, through the one shared encoder), loss = 10 L2(GR) + L1(DR) + KL + content
(losses.py), Adam (default betas / eps) with the authors' continuous exponential decay
lr = max(lr0 * 0.96^(step / 5000), 1e-6). BatchNorm moving averages are updated as in the authors'
graph (they never affect outputs).

Run directory (`out`): config.json, log.csv (+ TensorBoard when installed), last.pt (full training
state, atomic, for --resume), mrvae.pt (final weights; `--enhancer mrvae --weights OUT/mrvae.pt`).
Batches depend on (seed, step) only and the RNG state is saved, so `--resume` continues exactly.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from facebench import __version__
from facebench.atomic import write_json_atomic
from facebench.checkpoint import CheckpointError, load_checkpoint
from facebench.enhancers.mrvae.data import DataConfig, PairSource
from facebench.enhancers.mrvae.losses import LossWeights, mrvae_losses
from facebench.enhancers.mrvae.layers import TFBatchNorm
from facebench.enhancers.mrvae.model import MRVAEConfig, MRVAENet, init_authors, sample
from facebench.enhancers.mrvae.weights import save_weights
from facebench.training import (CSVLogger, DistributedContext, average_gradients, check_finite, check_same_world_size,
                                load_training_state, save_training_state, seed_everything, torchrun_process)

# Fields that may differ between a run and its --resume (they do not change the trained weights).
_RESUMABLE = ("steps", "save_every", "log_every")


@dataclass(frozen=True)
class TrainConfig:
    """A training run. `data` decides the batches; the rest the network, loss and optimiser."""

    data: DataConfig
    architecture: MRVAEConfig = MRVAEConfig(width=16)
    loss: LossWeights = LossWeights()
    steps: int = 6000
    lr: float = 1e-3
    lr_decay: float = 0.96  # factor per `decay_steps`, applied continuously
    decay_steps: int = 5000
    min_lr: float = 1e-6
    save_every: int = 200
    log_every: int = 20

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def lr_schedule(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """The authors' `exponential_decay(lr0, step, decay_steps, 0.96)` floored at `min_lr`."""
    floor = config.min_lr / config.lr

    def factor(step: int) -> float:
        return max(config.lr_decay ** (step / config.decay_steps), floor)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def training_step(net: MRVAENet, low: torch.Tensor, high: torch.Tensor, weights: LossWeights,
                  ctx: DistributedContext = DistributedContext()) -> Dict[str, torch.Tensor]:
    """Loss terms for this rank's batch (low, high: Tensor[B, 3, S, S] in [0, 1]).

    Both eps are drawn from torch's RNG for the union batch of all ranks of `ctx` (every rank draws the same)
    and sliced to this rank's share, so the ranks together see exactly the noise of one process.
    """
    n, *latent = net.latent_shape(low)
    share = slice(ctx.rank * n, (ctx.rank + 1) * n)
    union = (n * ctx.world_size, *latent)
    outputs = net(low, torch.randn(union, device=low.device)[share])
    target = net.encoder(high)
    z_target = sample(target.z_mean, target.z_log_var, torch.randn(union, device=low.device)[share])
    return mrvae_losses(outputs, high, z_target, weights)


def _check_resumable(metadata: Dict[str, Any], config: TrainConfig, world_size: int, path: Path) -> None:
    current = config.as_dict()
    differ = [k for k in current if k not in _RESUMABLE and metadata["config"].get(k) != current[k]]
    if differ:
        raise CheckpointError(f"{path}: trained with different {', '.join(differ)}; resume with the same options "
                              "(only --steps, --save-every, --log-every may change) or use a new --out")
    check_same_world_size(metadata, world_size, path)


def train(config: TrainConfig, out: "str | Path", device: str = "auto", resume: bool = False) -> Path:
    """Train MR-VAE into run directory `out`; returns the final weights file out/mrvae.pt.

    Under torchrun (N processes) each rank takes its share of one union batch of N x batch_size pairs with
    its share of the union's noise, batch statistics are those of the union, gradients are averaged, and
    rank 0 alone writes: N ranks train exactly as one process with N x batch_size (log.csv shows the loss of
    rank 0's share).

    Raises:
        CheckpointError: --resume without out/last.pt, or with a different config or number of processes.
        NonFiniteLossError: a loss term became NaN/inf (the last good last.pt is kept).
    """
    with torchrun_process(device) as (ctx, dev):
        return _train(config, Path(out), dev, resume, ctx)


def _train(config: TrainConfig, out: Path, dev: torch.device, resume: bool, ctx: DistributedContext) -> Path:
    n = config.data.batch_size
    # every rank builds the whole union batch and keeps its share: one process's batches stay as they were
    source = PairSource(dataclasses.replace(config.data, batch_size=n * ctx.world_size))
    share = slice(ctx.rank * n, (ctx.rank + 1) * n)
    seed_everything(config.data.seed)  # the same weights and noise stream on every rank
    net = MRVAENet(config.architecture)
    init_authors(net)
    for module in net.modules():
        if isinstance(module, TFBatchNorm):
            module.synchronized = ctx.enabled
    net.to(dev).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    scheduler = lr_schedule(optimizer, config)
    last, step = out / "last.pt", 0
    if resume:
        if not last.is_file():
            raise CheckpointError(f"{last}: nothing to resume (no training state in {out})")
        _check_resumable(load_checkpoint(last)["metadata"], config, ctx.world_size, last)
        step = load_training_state(last, {"net": net}, {"adam": optimizer}, {"lr": scheduler}, dev)["step"]
    logger, metadata = None, {"config": config.as_dict(), "world_size": ctx.world_size}
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "config.json", config.as_dict())
        logger = CSVLogger(out / "log.csv")
    terms: Dict[str, float] = {}
    started = time.time()
    while step < config.steps:
        low, high = (t[share].to(dev) for t in source.batch(step))
        losses = training_step(net, low, high, config.loss, ctx)
        check_finite(losses, step, last if last.is_file() else None, ctx)
        total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        average_gradients(net, ctx)
        optimizer.step()
        scheduler.step()
        step += 1
        terms = {k: float(v.detach()) for k, v in losses.items()}
        if logger and (step % config.log_every == 0 or step == config.steps):
            logger.log({"step": step, "loss": sum(terms.values()), **terms, "lr": scheduler.get_last_lr()[0],
                        "seconds": round(time.time() - started, 1)})
        if ctx.is_main and (step % config.save_every == 0 or step == config.steps):
            save_training_state(last, {"net": net}, {"adam": optimizer}, {"lr": scheduler}, step, metadata)
    return _export(net, out, config, step, terms, ctx.world_size) if ctx.is_main else out / "mrvae.pt"


def _export(net: MRVAENet, out: Path, config: TrainConfig, step: int, terms: Optional[Dict[str, float]],
            world_size: int) -> Path:
    final = out / "mrvae.pt"
    save_weights(final, net.eval(), {
        "source": "trained by facebench train-enhancer mrvae",
        "training": config.as_dict(),
        "world_size": world_size,
        "steps": step,
        "final_loss_terms": terms,
        "facebench_version": __version__,
    })
    return final
