"""What defines a LightenDiffusion training run: frozen dataclasses built from the command-line options.

Defaults are the small CPU configuration (architecture.SMALL, 128 x 128 crops, 4 + 4 crops per step);
`full=True` selects the authors' network (architecture.FULL) and the values in FULL_PRESETS. No torch
import here, so `--help` stays fast.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Tuple

from facebench.enhancers.lightendiffusion.architecture import DEFAULT_STEPS, FULL, SMALL, Architecture


@dataclass(frozen=True)
class Stage1Weights:
    """Weights of the stage-1 terms (this project's choice; the authors' values are not published)."""

    recon: float = 1.0
    retinex: float = 1.0
    reflectance: float = 0.1
    illumination: float = 0.1
    smooth: float = 0.1


@dataclass(frozen=True)
class Stage1Config:
    """Everything that defines a stage-1 run (config.json, every checkpoint; must match on --resume but
    `steps`, `out`, `device`). `batch_size` crops of each stream (dark, normal) per step."""

    dark: Tuple[str, ...]
    normal: Tuple[str, ...]
    out: str
    full: bool = False
    steps: int = 6000
    batch_size: int = 4
    size: int = 128
    lr: float = 1e-4
    seed: int = 0
    save_every: int = 250
    log_every: int = 10
    device: str = "auto"
    weights: Stage1Weights = Stage1Weights()


@dataclass(frozen=True)
class Stage2Config:
    """Everything that defines a stage-2 run; `stage1` is the stage-1 weights file (required); `init` an
    optional stage-2 file whose denoiser the run starts from (a fine-tune, e.g. at a new `size`)."""

    dark: Tuple[str, ...]
    normal: Tuple[str, ...]
    out: str
    stage1: str
    full: bool = False
    steps: int = 20000
    batch_size: int = 4
    size: int = 128
    lr: float = 1e-4
    sampling_steps: int = DEFAULT_STEPS
    scc_weight: float = 0.001
    scc_every: int = 1
    init: str = ""
    seed: int = 0
    save_every: int = 250
    log_every: int = 10
    device: str = "auto"


# `full=True` values (the authors' configs/unsupervised.yml for stage 2: batch 12, lr 2e-5, 512 px patches;
# ~100k iterations, when the authors report results changing qualitatively). Stage 1: not published; ours.
FULL_PRESETS: Dict[int, Dict[str, Any]] = {
    1: {"steps": 50000, "batch_size": 12, "size": 512, "lr": 1e-4},
    2: {"steps": 100000, "batch_size": 12, "size": 512, "lr": 2e-5},
}


def architecture_of(config: "Stage1Config | Stage2Config") -> Architecture:
    """The network a run trains: FULL with `full`, else SMALL."""
    return FULL if config.full else SMALL


def with_preset(cls: type, stage: int, full: bool, **given: Any) -> Any:
    """cls(**given) where options left as None take the preset: FULL_PRESETS[stage] if full, else cls defaults."""
    preset = FULL_PRESETS[stage] if full else {}
    values = {k: v for k, v in given.items() if v is not None}
    fields = {f.name for f in dataclasses.fields(cls)}
    return cls(full=full, **{k: v for k, v in preset.items() if k in fields and k not in values}, **values)
