"""A physical low-light camera model: turns a normal-light photo into a dark, noisy one.

Steps, per image (all in float64, then quantised to 8 bit):
1. undo the display gamma: linear = (srgb) ** gamma                      (gamma 2.2, plain power law)
2. expose: electrons = linear * exposure * full_well                      (exposure << 1 = dark)
3. sensor noise: Poisson(electrons) + Normal(0, read_noise)  [electrons]  (Poisson-Gaussian model,
   Foi et al. 2008), independent per pixel and channel
4. back to display: srgb = clip(electrons / full_well, 0, 1) ** (1 / gamma), rounded to uint8.
With `cfa=True` the sensor sits behind an RGGB colour filter array, as a real one does: steps 2-3 record one
channel per photosite and the linear mosaic is demosaiced bilinearly (OpenCV) before step 4, so the noise
is shared by neighbouring pixels and channels. Its luma noise is correlated over about 2 px as in real
DARK FACE frames (residual correlation at lag 1: 0.13 real, 0.17 demosaiced, -0.02 per-pixel noise;
`experiments/noise_texture.py`).

Defaults (exposure 0.03..0.15, full well 1000 e-, read noise 2 e-) give mean intensities of about
0.05..0.2. Real DARK FACE frames are darker (mean 0.021..0.054) and cleaner for their brightness: a
night camera (`night_camera`, `darken_like_darkface`) uses `DARKFACE_SENSOR` and a colour noise
reduction, calibrated on them (facebench.datasets.synthetic documents the statistics).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np


DARKFACE_SENSOR = {"full_well": 12000.0, "read_noise": 0.5}  # electrons: DARK FACE-like noise at its brightness
DARKFACE_CHROMA_SIGMA = 0.75  # px: chroma blur bringing chroma noise to DARK FACE's third of the luma noise
_RGGB_TO_RGB = getattr(cv2, "COLOR_BayerRGGB2RGB", cv2.COLOR_BayerBG2RGB)  # OpenCV < 4.5 names RGGB 'BG'


@dataclass(frozen=True)
class LowLightModel:
    """Parameters of one darkening.

    Attributes:
        exposure: fraction of the original linear-light exposure kept (0 < exposure <= 1).
        full_well: electrons recorded for linear value 1.0 at full exposure.
        read_noise: standard deviation of the Gaussian read noise, electrons.
        gamma: display gamma of the input and output images.
        cfa: record through an RGGB colour filter array and demosaic (False: independent noise per pixel
            and channel, the model of the shipped MLSM weights and the embedded face set).
    """

    exposure: float = 0.08
    full_well: float = 1000.0
    read_noise: float = 2.0
    gamma: float = 2.2
    cfa: bool = False


def sample_model(rng: np.random.Generator, exposure_range: Tuple[float, float] = (0.03, 0.15)) -> LowLightModel:
    """A model with exposure drawn log-uniformly from `exposure_range`."""
    lo, hi = np.log(exposure_range[0]), np.log(exposure_range[1])
    return LowLightModel(exposure=float(np.exp(rng.uniform(lo, hi))))


def check_brightness_range(brightness_range: Tuple[float, float]) -> None:
    """One-line ValueError unless `brightness_range` is (low, high) with 0 < low <= high <= 1."""
    if len(brightness_range) != 2 or not 0 < brightness_range[0] <= brightness_range[1] <= 1:
        raise ValueError(f"brightness_range must be 0 < low <= high <= 1, got {tuple(brightness_range)}")


def sample_brightness(rng: np.random.Generator, brightness_range: Tuple[float, float]) -> float:
    """A mean brightness (fraction of full scale) drawn log-uniformly from `brightness_range`, for
    `darken_like_darkface`."""
    lo, hi = np.log(brightness_range)
    return float(np.exp(rng.uniform(lo, hi)))


def darken(rgb: np.ndarray, model: LowLightModel, rng: np.random.Generator) -> np.ndarray:
    """Apply `model` to uint8 RGB [H, W, 3]; returns uint8 RGB [H, W, 3]."""
    linear = (rgb.astype(np.float64) / 255.0) ** model.gamma
    if model.cfa:
        linear = bayer_mosaic(linear)
    electrons = rng.poisson(linear * model.exposure * model.full_well).astype(np.float64)
    electrons += rng.normal(0.0, model.read_noise, size=electrons.shape)
    recorded = np.clip(electrons / model.full_well, 0.0, 1.0)
    if model.cfa:
        recorded = demosaic(recorded)
    return np.round(recorded ** (1.0 / model.gamma) * 255.0).astype(np.uint8)


def bayer_mosaic(rgb: np.ndarray) -> np.ndarray:
    """float RGB [H, W, 3] -> the RGGB mosaic [H, W]: red at even rows and columns, blue at odd ones,
    green elsewhere."""
    raw = rgb[:, :, 1].copy()
    raw[0::2, 0::2] = rgb[0::2, 0::2, 0]
    raw[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return raw


def demosaic(raw: np.ndarray) -> np.ndarray:
    """RGGB mosaic [H, W] in [0, 1] -> float RGB [H, W, 3] in [0, 1], bilinear (OpenCV, 16 bit)."""
    mosaic16 = np.round(raw * 65535.0).astype(np.uint16)
    return cv2.cvtColor(mosaic16, _RGGB_TO_RGB).astype(np.float64) / 65535.0


def night_camera(bright: np.ndarray, target_mean: float, cfa: bool = False) -> LowLightModel:
    """The DARK FACE-like model (`DARKFACE_SENSOR`, colour filter array if `cfa`) whose noise-free output of
    `bright` (uint8 RGB) has mean brightness `target_mean` (fraction of full scale).

    Without noise and clipping the model maps sRGB s to (s**gamma * exposure)**(1/gamma) = s * exposure**(1/gamma),
    so the exposure for a target mean m is (m / mean(s)) ** gamma.
    """
    gamma = LowLightModel().gamma
    exposure = min(1.0, (target_mean / max(float(bright.mean()) / 255.0, 1e-3)) ** gamma)
    return LowLightModel(exposure=exposure, gamma=gamma, cfa=cfa, **DARKFACE_SENSOR)


def smooth_chroma(rgb: np.ndarray, sigma: float = DARKFACE_CHROMA_SIGMA) -> np.ndarray:
    """uint8 RGB [H, W, 3] with its chroma (YCrCb Cr, Cb) blurred (Gaussian, `sigma` px), as a camera's colour
    noise reduction does: DARK FACE's chroma noise is a third of its luma noise, the sensor model's
    independent channels give equal noise."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    for channel in (1, 2):
        ycc[:, :, channel] = cv2.GaussianBlur(ycc[:, :, channel], (0, 0), sigma)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def darken_like_darkface(bright: np.ndarray, target_mean: float, rng: np.random.Generator,
                         cfa: bool = False) -> np.ndarray:
    """uint8 RGB [H, W, 3] -> the same scene as a DARK FACE-like night frame of mean brightness about
    `target_mean`: `night_camera` sensor noise (through a colour filter array if `cfa`), then the colour
    noise reduction."""
    return smooth_chroma(darken(bright, night_camera(bright, target_mean, cfa), rng))


def keep_noise(bright: np.ndarray, dark: np.ndarray, target_mean: float, share: float) -> np.ndarray:
    """`bright` (uint8 RGB [H, W, 3]) plus `share` of the noise of its night frame `dark` (the uncompressed
    output of `darken_like_darkface(bright, target_mean, ...)`), brightened back by the night camera's
    noise-free gain exposure**(1/gamma). Returns uint8 RGB [H, W, 3].

    The noise is dark / gain - smooth_chroma(bright): sensor noise and 8-bit rounding, chroma-smoothed as in
    `dark`. share 0 returns `bright`; share 1 is the dark frame at the photo's brightness, noise and all.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"noise share must be in [0, 1], got {share}")
    model = night_camera(bright, target_mean)
    gain = model.exposure ** (1.0 / model.gamma)
    noise = dark.astype(np.float64) / gain - smooth_chroma(bright).astype(np.float64)
    return np.clip(np.round(bright + share * noise), 0, 255).astype(np.uint8)
