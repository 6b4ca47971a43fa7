"""Checkpoints: atomic writes, safe loads, and the RNG state needed to resume a run exactly.

A checkpoint is a dict of tensors, plain Python containers and numbers (so `weights_only=True` loads it):
    {"model": state_dict, "metadata": {...}, optional "optimizer", "scheduler", "step", "rng"}
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict

import numpy as np
import torch

from facebench.atomic import atomic_path


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read or lacks what was expected (message names the file)."""


def save_checkpoint(path: "str | Path", checkpoint: Dict[str, Any]) -> None:
    """Write `checkpoint` to `path` atomically: a temporary file in the same folder, then rename."""
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def load_checkpoint(path: "str | Path", map_location: "str | torch.device" = "cpu") -> Dict[str, Any]:
    """Load a checkpoint with `weights_only=True`; a missing or corrupt file gives one clear error."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for corrupt/unsafe files
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from None


def rng_state() -> Dict[str, Any]:
    """The Python, NumPy and torch RNG states (CPU, and CUDA when present), for an exact resume."""
    state = {
        "python": torch.tensor(random.getstate()[1], dtype=torch.int64),
        "python_version": random.getstate()[0],
        "python_gauss": random.getstate()[2],
        "numpy": torch.from_numpy(np.random.get_state()[1].astype(np.int64)),
        "numpy_pos": int(np.random.get_state()[2]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore what `rng_state` returned."""
    words = tuple(int(v) for v in state["python"].tolist())
    random.setstate((state["python_version"], words, state["python_gauss"]))
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), int(state["numpy_pos"]), 0, 0.0))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
