"""Reading LightenDiffusion weights: the authors' stage-2 / stage-1 files and facebench's own checkpoints.

Accepted files (all read with `torch.load(weights_only=True)`):
- the authors' stage-2 checkpoint (`ckpt/stage2/stage2_weight.pth.tar`): {"state_dict": {"module.Unet.*",
  "module.decom.*"}, "params": Namespace, "config": Namespace, "optimizer", "ema_helper", "step", "epoch"}.
  The pickled `argparse.Namespace` objects are allowed explicitly (torch >= 2.6 refuses them otherwise);
  evaluation uses only "state_dict" (raw weights, not the EMA shadow), and so does facebench;
- a bare state dict with those keys (with or without the `module.` prefix);
- `facebench train-enhancer lightendiffusion stage2` output: {"model": net.state_dict(), "metadata":
  {"enhancer": "lightendiffusion", "stage": 2, "architecture": {...}, ...}};
- for stage-2 training only (`read_ctdn`): the authors' stage-1 file {"model": CTDN state dict} or
  facebench's stage-1 output (same, plus metadata with "stage": 1).
Every load is strict; errors are one line naming the file.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict, Tuple

import torch

from facebench.checkpoint import CheckpointError
from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.authors_weights import flush_denormals, load_strict
from facebench.enhancers.lightendiffusion.architecture import FULL, Architecture
from facebench.enhancers.lightendiffusion.ctdn import CTDN
from facebench.enhancers.lightendiffusion.model import LightenDiffusionNet

_WEIGHTS = BUILTIN_ENHANCERS["lightendiffusion"].meta.weights.sources  # declared where lightendiffusion is registered
SHIPPED_WEIGHTS = _WEIGHTS["cpu"].path  # the project's CPU-trained model, in the package
AUTHORS_FILE, ORIGIN = _WEIGHTS["authors"].file, _WEIGHTS["authors"].origin  # in $FACEBENCH_HOME; where from
SHIPPED_SOURCE = "shipped with facebench (trained by this project)"
AUTHORS_SOURCE = "https://github.com/JianghaiSCU/LightenDiffusion (authors' release)"
FACEBENCH_SOURCE = "facebench checkpoint"
_PREFIX = "module."


def load_file(path: "str | Path") -> Any:
    """torch.load(path, weights_only=True) on CPU, with argparse.Namespace allowed; CheckpointError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file not found")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for corrupt / unsafe files
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from None


def strip_prefix(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Drop DataParallel's `module.` when every key has it; otherwise return `state` unchanged."""
    if state and all(k.startswith(_PREFIX) for k in state):
        return {k[len(_PREFIX):]: v for k, v in state.items()}
    return state


def _tensors(state: Any, path: Path, what: str) -> Dict[str, torch.Tensor]:
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected {what} (a dict of tensors)")
    return flush_denormals(state)


def _metadata(checkpoint: Any) -> Dict[str, Any]:
    return (checkpoint.get("metadata") or {}) if isinstance(checkpoint, dict) else {}


def read_net(path: "str | Path") -> Tuple[LightenDiffusionNet, str, Dict[str, Any]]:
    """The whole network from a stage-2 file: (net in eval mode, source for WeightsInfo, metadata)."""
    path = Path(path)
    checkpoint = load_file(path)
    metadata = _metadata(checkpoint)
    if metadata.get("enhancer") == "lightendiffusion":
        if metadata.get("stage") != 2:
            raise CheckpointError(f"{path}: stage-{metadata.get('stage')} weights (no trained denoiser); "
                                  f"run `facebench train-enhancer lightendiffusion stage2` and use its output")
        state, source = checkpoint.get("model"), FACEBENCH_SOURCE
        architecture = Architecture.from_dict(metadata["architecture"])
    else:
        is_authors = isinstance(checkpoint, dict) and "state_dict" in checkpoint
        state, source = (checkpoint["state_dict"] if is_authors else checkpoint), AUTHORS_SOURCE
        architecture = FULL
    net = LightenDiffusionNet(architecture)
    load_strict(net, strip_prefix(_tensors(state, path, "a LightenDiffusion state dict")), path)
    return net.eval(), source, metadata


def read_ctdn(path: "str | Path", architecture: Architecture) -> CTDN:
    """The decomposition network from a stage-1 file (authors' {"model": ...} or facebench's stage-1 output),
    built with `architecture` (a facebench file must have been trained with the same sizes)."""
    path = Path(path)
    checkpoint = load_file(path)
    saved = _metadata(checkpoint).get("architecture")
    if saved is not None and Architecture.from_dict(saved) != architecture:
        raise CheckpointError(f"{path}: trained with architecture {saved}, not {architecture} "
                              f"(use the same --full setting as its stage-1 run)")
    state = checkpoint.get("model") if isinstance(checkpoint, dict) and "model" in checkpoint else checkpoint
    ctdn = CTDN(architecture.recon_channels, architecture.retinex_channels, architecture.heads)
    load_strict(ctdn, strip_prefix(_tensors(state, path, "a stage-1 CTDN state dict ({'model': ...})")), path)
    return ctdn
