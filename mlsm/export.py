"""The exported MLSM model file, what the `mlsm` enhancer loads: {"model": state_dict, "metadata": {...}}.

metadata: config (ModelConfig.as_dict), stages {name: {steps, val, val_qf, seconds, command}}, loss,
perceptual, data, seed, batch_size, lr, world_size; a snapshot adds {"snapshot": {stage, step, val}}.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from facebench.checkpoint import load_checkpoint, save_checkpoint
from facebench.mlsm.config import ModelConfig
from facebench.mlsm.model import MLSM


def load_export(path: Path, model: MLSM) -> Dict[str, Any]:
    """Load `path` into `model` and return its metadata; a fresh metadata dict when `path` does not exist.

    A model trained without a refinement head loads into one with `refine_width` (only the head is new).

    Raises:
        ValueError: the file was written for another model config.
    """
    config = model.config.as_dict()
    if not path.is_file():
        return {"config": config, "stages": {}}
    checkpoint = load_checkpoint(path)
    saved = ModelConfig.from_dict(checkpoint["metadata"]["config"]).as_dict()  # fields added later: defaults
    head = {"refine_width": config["refine_width"], "refine_context": config["refine_context"]}
    adds_refine = bool(config["refine_width"]) and not saved["refine_width"] and {**saved, **head} == config
    if saved != config and not adds_refine:
        raise ValueError(f"{path}: was trained with config {saved}, not {config} "
                         "(use another --out or the same options)")
    if adds_refine:  # a finished model gains a (zero-initialised) refinement head for --stage refine
        missing, unexpected = model.load_state_dict(checkpoint["model"], strict=False)
        if unexpected or any(not k.startswith("refine.") for k in missing):
            raise ValueError(f"{path}: state dict does not match its config")
        return {**checkpoint["metadata"], "config": config}
    model.load_state_dict(checkpoint["model"])
    return checkpoint["metadata"]


def save_export(path: Path, model: MLSM, metadata: Dict[str, Any]) -> None:
    """Atomically write the model and its metadata."""
    save_checkpoint(path, {"model": model.state_dict(), "metadata": metadata})
