"""Night-time scene lighting, as in DARK FACE's street scenes: street-light glows and small saturated lamps.

Two pieces, used by the synthetic face set (`facebench.datasets.synthetic`) and by MLSM's synthetic training
pairs (`facebench.mlsm.data`, `--street-lights`):
    glow_map   a smooth illumination map [H, W] in [floor, 1]: a dim floor plus two to six glows centred at
               30-80% of the height (where DARK FACE's faces are); multiplies a normal-light scene before
               the night camera darkens it, so brightness varies by up to 100x across the frame.
    lamps      two to six small light sources with halos (peak 2..30 times full scale), added in linear
               light; their cores saturate (DARK FACE frames hold street lamps and signs: about 0.1-0.5%
               of their pixels are above 200).
Both draw from a numpy Generator in a fixed order, so a seeded caller gets the same scene every time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import cv2
import numpy as np


def glow_map(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth illumination map float64 [H, W] in [floor, 1]: a dim floor (0.01..0.06) plus two to six
    street-light glows centred at 30-80% of the height, the first at full strength, the others 0.05..1 of it
    (log-uniform), each a Gaussian of sigma 3-15% of the longer side.

    Computed on a grid 8x coarser and resized (the map is smooth, and full size costs ~20 ms).
    """
    small_w, small_h = max(width // 8, 1), max(height // 8, 1)
    ys, xs = np.mgrid[0:small_h, 0:small_w].astype(np.float64) * 8
    glow = np.zeros((small_h, small_w))
    for k in range(int(rng.integers(2, 7))):
        cx, cy = rng.uniform(0, width), rng.uniform(0.3, 0.8) * height
        sigma = rng.uniform(0.03, 0.15) * max(width, height)
        strength = 1.0 if k == 0 else np.exp(rng.uniform(np.log(0.05), 0.0))
        glow = np.maximum(glow, strength * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma ** 2)))
    floor = rng.uniform(0.01, 0.06)
    return floor + (1 - floor) * cv2.resize(glow, (width, height), interpolation=cv2.INTER_LINEAR)


def light_scene(rgb: np.ndarray, illumination: np.ndarray) -> np.ndarray:
    """uint8 RGB [H, W, 3] scaled by an illumination map float [H, W] in [0, 1] (sRGB values, rounded)."""
    return np.round(np.clip(rgb / 255.0 * illumination[:, :, None], 0, 1) * 255).astype(np.uint8)


@dataclass(frozen=True)
class Lamp:
    """A light source: centre (x, y) and Gaussian sigma in pixels, peak in multiples of full scale,
    colour RGB in [0.6, 1]."""

    x: float
    y: float
    sigma: float
    peak: float
    color: np.ndarray


def draw_lamps(rng: np.random.Generator, width: int, height: int, left: float = 0.0, top: float = 0.0
               ) -> List[Lamp]:
    """Two to six lamps in the upper 75% of a width x height frame (sigma 1.5..5 px, peak 2..30), their
    centres given relative to the point (left, top) of that frame (to draw a window of a larger frame)."""
    lamps = []
    for _ in range(int(rng.integers(2, 7))):
        x, y = rng.uniform(0, width), rng.uniform(0, 0.75 * height)
        sigma, peak, color = rng.uniform(1.5, 5.0), rng.uniform(2.0, 30.0), rng.uniform(0.6, 1.0, size=3)
        lamps.append(Lamp(x - left, y - top, sigma, peak, color))
    return lamps


def add_lamps(rgb: np.ndarray, lamps: List[Lamp], gamma: float = 2.2) -> np.ndarray:
    """uint8 RGB [H, W, 3] plus `lamps`, added in linear light (display `gamma`): each is
    peak * exp(-r^2 / (2 sigma^2)) ** 1.5 times its colour, so its core saturates and its halo fades.
    Lamps may lie outside the image (only their part inside is drawn)."""
    height, width = rgb.shape[:2]
    linear = (rgb.astype(np.float64) / 255.0) ** gamma
    for lamp in lamps:
        x1, x2 = int(max(lamp.x - 6 * lamp.sigma, 0)), int(min(lamp.x + 6 * lamp.sigma + 1, width))
        y1, y2 = int(max(lamp.y - 6 * lamp.sigma, 0)), int(min(lamp.y + 6 * lamp.sigma + 1, height))
        if x2 <= x1 or y2 <= y1:
            continue
        ys, xs = np.mgrid[y1:y2, x1:x2].astype(np.float64)
        spot = np.exp(-1.5 * ((xs - lamp.x) ** 2 + (ys - lamp.y) ** 2) / (2 * lamp.sigma ** 2))
        linear[y1:y2, x1:x2] += lamp.peak * spot[:, :, None] * lamp.color
    return np.round(np.clip(linear, 0.0, 1.0) ** (1.0 / gamma) * 255.0).astype(np.uint8)
