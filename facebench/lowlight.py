"""A physical low-light camera model: turns a normal-light photo into a dark, noisy one.

Steps, per image (all in float64, then quantised to 8 bit):
1. undo the display gamma: linear = (srgb) ** gamma                      (gamma 2.2, plain power law)
2. expose: electrons = linear * exposure * full_well                      (exposure << 1 = dark)
3. sensor noise: Poisson(electrons) + Normal(0, read_noise)  [electrons]  (Poisson-Gaussian model,
   Foi et al. 2008), independent per pixel and channel
4. back to display: srgb = clip(electrons / full_well, 0, 1) ** (1 / gamma), rounded to uint8.

Defaults (exposure 0.03..0.15, full well 1000 e-, read noise 2 e-) give mean intensities of about
0.05..0.2, like DARK FACE night frames.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np


@dataclass(frozen=True)
class LowLightModel:
    """Parameters of one darkening.

    Attributes:
        exposure: fraction of the original linear-light exposure kept (0 < exposure <= 1).
        full_well: electrons recorded for linear value 1.0 at full exposure.
        read_noise: standard deviation of the Gaussian read noise, electrons.
        gamma: display gamma of the input and output images.
    """

    exposure: float = 0.08
    full_well: float = 1000.0
    read_noise: float = 2.0
    gamma: float = 2.2


def sample_model(rng: np.random.Generator, exposure_range: Tuple[float, float] = (0.03, 0.15)) -> LowLightModel:
    """A model with exposure drawn log-uniformly from `exposure_range`."""
    lo, hi = np.log(exposure_range[0]), np.log(exposure_range[1])
    return LowLightModel(exposure=float(np.exp(rng.uniform(lo, hi))))


def darken(rgb: np.ndarray, model: LowLightModel, rng: np.random.Generator) -> np.ndarray:
    """Apply `model` to uint8 RGB [H, W, 3]; returns uint8 RGB [H, W, 3]."""
    linear = (rgb.astype(np.float64) / 255.0) ** model.gamma
    electrons = rng.poisson(linear * model.exposure * model.full_well).astype(np.float64)
    electrons += rng.normal(0.0, model.read_noise, size=electrons.shape)
    dark = np.clip(electrons / model.full_well, 0.0, 1.0) ** (1.0 / model.gamma)
    return np.round(dark * 255.0).astype(np.uint8)
