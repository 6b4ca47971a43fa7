"""Enhancers that run the weights a method's authors released (Zero-DCE, Zero-DCE++, SCI, RUAS).

The authors' files are user files (`$FACEBENCH_HOME/<file>` or `--weights PATH`, see facebench.weights):
bare state dicts, read with `weights_only=True`, loaded strictly. A facebench checkpoint
({'model': state_dict, 'metadata': ...}) of the same network loads the same way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from facebench.checkpoint import CheckpointError, load_checkpoint
from facebench.plugin_api import Enhancer
from facebench.weights import describe, require_user_weights


def read_state_dict(path: "str | Path", authors_source: str) -> Tuple[Dict[str, torch.Tensor], str]:
    """The state dict in an authors' file (a bare state dict) or a facebench checkpoint ({'model': ...}).

    Loaded with `weights_only=True`: the authors' legacy (non-zip) pickles hold only an OrderedDict of
    tensors, which the restricted unpickler accepts. Subnormal values are flushed to 0 (see
    `flush_denormals`). Returns (state dict, source for WeightsInfo); raises CheckpointError naming
    the file when it is neither.
    """
    checkpoint = load_checkpoint(path)
    ours = isinstance(checkpoint, dict) and isinstance(checkpoint.get("model"), dict)
    state = checkpoint["model"] if ours else checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors (or a checkpoint {{'model': state_dict}})")
    return flush_denormals(state), ("facebench checkpoint" if ours else authors_source)


def flush_denormals(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Set subnormal float values (|v| < 1.2e-38) to 0.

    The authors' Zero-DCE weights hold 19,266 subnormal values (filters decayed to nothing by weight
    decay); x86 CPUs process subnormals ~40x slower (124 s instead of 2.6 s for a 640x480 image here).
    The values are below 1.2e-38, so zeroing them leaves the outputs unchanged at float32 precision
    (the authors' reference output is still matched to 2.4e-4, its float16 rounding).
    """
    flushed = {}
    for key, value in state.items():
        if value.is_floating_point():
            value = torch.where(value.abs() < torch.finfo(value.dtype).tiny, torch.zeros_like(value), value)
        flushed[key] = value
    return flushed


def load_strict(module: nn.Module, state: Dict[str, torch.Tensor], path: "str | Path") -> None:
    """`module.load_state_dict(state, strict=True)` with a one-line error naming the file."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise ValueError(f"{path}: weights do not fit {type(module).__name__} ({detail})") from None


class AuthorsWeightsEnhancer(Enhancer):
    """An enhancer whose network `self.net` runs an authors' weight file.

    Subclasses set `origin` (where users get the file; used in messages) and `source` (provenance recorded
    in the WeightsInfo of an authors' file); their constructor builds `self.net`, then calls
    `_load_user_weights`. The status `facebench list` prints comes from `meta.weights`.
    """

    origin: str = ""
    source: str = ""
    net: nn.Module

    def _load_user_weights(self, filename: str, explicit: Optional[str]) -> None:
        """Load `explicit`, else `$FACEBENCH_HOME/filename` (MissingWeightsError if absent); eval mode."""
        self.load_weights(require_user_weights(self.name, filename, self.origin, explicit=explicit))
        self.net.eval()

    def load_weights(self, path: "str | Path") -> None:
        """Load an authors' state dict or a facebench checkpoint strictly; records sha256 and source."""
        state, source = read_state_dict(path, self.source)
        load_strict(self.net, self._net_state(state, path), path)
        self.weights = describe(path, source=source)

    def _net_state(self, state: Dict[str, torch.Tensor], path: "str | Path") -> Dict[str, torch.Tensor]:
        """The part of a loaded state dict that `self.net` holds (default: all of it)."""
        return state
