"""Pieces every trainer shares: seeding, torchrun/DDP setup, linear LR decay, CSV logs, a NaN guard,
and exact save/resume of the training state (model, optimizer, scheduler, step, RNG).

The training loops themselves stay plain and live with their models (mlsm/, enhancers/, detectors/).
"""
from __future__ import annotations

import csv
import importlib.util
import math
import os
import random
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist

from facebench.checkpoint import CheckpointError, load_checkpoint, rng_state, save_checkpoint, set_rng_state


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or inf; the last good checkpoint is kept."""


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' -> CUDA when available else CPU; otherwise torch.device(spec) ('cpu', 'cuda', 'cuda:1')."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {spec}: CUDA is not available on this machine (use 'cpu' or 'auto')")
    return device


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in a torchrun job (world_size 1 when not launched by torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device) -> DistributedContext:
    """Join the torchrun process group when WORLD_SIZE > 1 (NCCL on CUDA, gloo on CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistributedContext(rank=dist.get_rank(), world_size=dist.get_world_size(),
                              local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def require_single_process(trainer: str) -> None:
    """ValueError when launched by torchrun with several processes, for trainers that do not average over ranks
    (each process would train alone and all would write the same run folder)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1:
        raise ValueError(f"{trainer}: training under torchrun is not supported (WORLD_SIZE={world_size}); "
                         "run one process")


def rank_device(device_spec: str, ctx: DistributedContext) -> torch.device:
    """The device of `device_spec` ('auto', 'cpu', 'cuda[:N]'); under torchrun with CUDA, the rank's own GPU."""
    device = resolve_device(device_spec)
    return torch.device("cuda", ctx.local_rank) if device.type == "cuda" and ctx.enabled else device


def is_main_process() -> bool:
    """True for a single process and for rank 0 of a torchrun job (the one that writes and reports)."""
    return int(os.environ.get("RANK", "0")) == 0


def check_same_world_size(metadata: Mapping[str, Any], world_size: int, path: Path) -> None:
    """CheckpointError when the training state at `path` (its `metadata`) was written by another number of
    torchrun processes: the batches and their noise depend on it, so the run would not continue exactly."""
    saved = metadata.get("world_size", 1)
    if saved != world_size:
        raise CheckpointError(f"{path}: trained by {saved} processes, this run has {world_size}; resume with "
                              "the same torchrun --nproc_per_node")


@contextmanager
def torchrun_process(device_spec: str = "auto") -> Iterator[Tuple[DistributedContext, torch.device]]:
    """This process's place in a torchrun job (one process when not under torchrun) and its device (the rank's
    own GPU under torchrun with CUDA). On a normal exit the ranks wait for each other, then leave the group."""
    ctx = init_distributed(resolve_device(device_spec))
    device = rank_device(device_spec, ctx)
    try:
        yield ctx, device
        if ctx.enabled:
            dist.barrier()  # leave together: a rank that tears down while rank 0 still writes can abort gloo
    finally:
        if ctx.enabled and dist.is_initialized():
            dist.destroy_process_group()


def average_gradients(module: torch.nn.Module, ctx: DistributedContext) -> None:
    """All-reduce and average the gradients of `module` over the ranks of `ctx` (no-op for one process).

    Equal per-rank batches make this the gradient of the mean loss over the union batch, also when a
    parameter got a gradient on some ranks only (the others count zero; one that got none anywhere keeps
    None, as in one process). One all-reduce per dtype: every rank makes the same calls whatever its data.
    """
    if not ctx.enabled:
        return
    by_dtype: Dict[torch.dtype, list] = {}
    for p in module.parameters():
        if p.requires_grad:
            by_dtype.setdefault(p.dtype, []).append(p)
    for params in by_dtype.values():
        flags = torch.tensor([float(p.grad is not None) for p in params], dtype=params[0].dtype,
                             device=params[0].device)
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
                         + [flags])
        dist.all_reduce(flat)
        flat /= ctx.world_size
        grads = flat[:-len(params)].split([p.numel() for p in params])
        for p, grad, any_rank in zip(params, grads, flat[-len(params):].tolist()):
            p.grad = grad.view_as(p).clone() if any_rank > 0 else None


def linear_decay(optimizer: torch.optim.Optimizer, total_steps: int, decay_start: int = 0):
    """LambdaLR: constant LR until `decay_start`, then linear to 0 at `total_steps` (the paper's schedule)."""
    span = max(1, total_steps - decay_start)

    def factor(step: int) -> float:
        return 1.0 if step < decay_start else max(0.0, 1.0 - (step - decay_start) / span)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def check_finite(losses: Mapping[str, torch.Tensor], step: int, last_checkpoint: Optional[Path],
                 ctx: DistributedContext = DistributedContext()) -> None:
    """Raise NonFiniteLossError naming the term and the checkpoint kept, if any loss is NaN/inf.

    Under torchrun every rank of `ctx` must call it at the same point: the ranks agree, so all of them stop
    when one sees a NaN/inf (otherwise the others would wait for its gradients forever).
    """
    kept = f"; last good checkpoint kept: {last_checkpoint}" if last_checkpoint else ""
    values = {name: float(value.detach()) for name, value in losses.items()}
    bad = next(((name, v) for name, v in values.items() if not math.isfinite(v)), None)
    if ctx.enabled:
        flag = torch.tensor([float(bad is not None)], device=next(iter(losses.values())).device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if bad is None and flag.item() > 0:
            raise NonFiniteLossError(f"a loss term is not finite on another process at step {step}; training "
                                     f"stopped{kept}")
    if bad is not None:
        raise NonFiniteLossError(f"loss term {bad[0]!r} is {bad[1]} at step {step}; training stopped{kept}")


class CSVLogger:
    """Appends one row per call to a CSV file; keeps earlier rows when a run resumes.

    When the `tensorboard` package is installed, every numeric column is also written as a TensorBoard
    scalar (tag "<csv name>/<column>", x axis = the row's "step") to `<csv folder>/tensorboard/`.
    """

    def __init__(self, path: "str | Path"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._board = None
        if importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self._board = SummaryWriter(log_dir=str(self.path.parent / "tensorboard"))

    def log(self, row: Dict[str, Any]) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        if self._board is not None and "step" in row:
            for key, value in row.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._board.add_scalar(f"{self.path.stem}/{key}", value, int(row["step"]))
            self._board.flush()


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def save_training_state(path: "str | Path", modules: Mapping[str, torch.nn.Module],
                        optimizers: Mapping[str, torch.optim.Optimizer], schedulers: Mapping[str, Any],
                        step: int, metadata: Dict[str, Any]) -> None:
    """Atomically write everything needed to continue exactly at `step`."""
    save_checkpoint(path, {
        "modules": {k: unwrap(m).state_dict() for k, m in modules.items()},
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "step": int(step),
        "rng": rng_state(),
        "metadata": metadata,
    })


def load_training_state(path: "str | Path", modules: Mapping[str, torch.nn.Module],
                        optimizers: Mapping[str, torch.optim.Optimizer], schedulers: Mapping[str, Any],
                        map_location: "str | torch.device" = "cpu") -> Dict[str, Any]:
    """Restore what `save_training_state` wrote (strictly) and return the checkpoint (step, metadata)."""
    checkpoint = load_checkpoint(path, map_location)
    for key, module in modules.items():
        unwrap(module).load_state_dict(checkpoint["modules"][key], strict=True)
    for key, optimizer in optimizers.items():
        optimizer.load_state_dict(checkpoint["optimizers"][key])
    for key, scheduler in schedulers.items():
        scheduler.load_state_dict(checkpoint["schedulers"][key])
    set_rng_state(checkpoint["rng"])
    return checkpoint
