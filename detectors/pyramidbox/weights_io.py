"""Reading PyramidBox weight files in the layouts users have.

Accepted files (all read with `torch.load(..., weights_only=True)`):
    - a plain state dict (the public port's released `pyramidbox.pth`);
    - the public port's resume file `{'weight': state_dict, 'epoch': int}`;
    - a facebench checkpoint `{'model': state_dict, 'metadata': {...}}` or a facebench training state
      `{'modules': {'net': state_dict}, ...}`;
each with or without the `module.` prefix that `nn.DataParallel` adds. Old checkpoints lack the
BatchNorm `num_batches_tracked` counters; they are filled with 0 (they only matter for momentum=None
BatchNorm, which this network does not use). Everything else must match exactly (`strict=True`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping

import torch
import torch.nn as nn

from facebench.checkpoint import CheckpointError, load_checkpoint

_PREFIX = "module."


def extract_state_dict(obj: object, origin: str) -> Dict[str, torch.Tensor]:
    """The state dict inside a loaded weight file (see the module docstring), `module.` prefixes removed.

    Raises:
        CheckpointError: `obj` holds no state dict (message names `origin`).
    """
    if isinstance(obj, Mapping) and isinstance(obj.get("weight"), Mapping):
        obj = obj["weight"]
    elif isinstance(obj, Mapping) and isinstance(obj.get("model"), Mapping):
        obj = obj["model"]
    elif isinstance(obj, Mapping) and isinstance(obj.get("modules"), Mapping) and "net" in obj["modules"]:
        obj = obj["modules"]["net"]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        keys = list(obj)[:5] if isinstance(obj, Mapping) else "-"
        raise CheckpointError(f"{origin}: expected a PyramidBox state dict (or {{'weight': state_dict, "
                              f"'epoch': N}}), found {type(obj).__name__} with keys {keys}")
    if all(k.startswith(_PREFIX) for k in obj):
        obj = {k[len(_PREFIX):]: v for k, v in obj.items()}
    return dict(obj)


def fill_batchnorm_counters(model: nn.Module, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A copy of `state_dict` with `num_batches_tracked` = 0 added for every BatchNorm of `model`
    whose running statistics are present but whose counter is not."""
    filled = dict(state_dict)
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            prefix = f"{name}." if name else ""
            if f"{prefix}running_mean" in filled and f"{prefix}num_batches_tracked" not in filled:
                filled[f"{prefix}num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    return filled


def load_into(model: nn.Module, obj: object, origin: str) -> None:
    """Load the state dict inside `obj` (a loaded weight file, see the module docstring) into `model`,
    `strict=True` after filling missing BatchNorm counters.

    Raises:
        CheckpointError: no state dict in `obj`, or keys/shapes that differ from the model's (message
            names `origin` and the first differing keys).
    """
    state_dict = fill_batchnorm_counters(model, extract_state_dict(obj, origin))
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:400]
        raise CheckpointError(f"{origin}: not in the public PyramidBox layout ({first})") from None


def load_pyramidbox_weights(model: nn.Module, path: "str | Path") -> None:
    """Read a PyramidBox weight file (`weights_only=True`) and load it into `model` with `strict=True`."""
    load_into(model, load_checkpoint(path), str(path))
