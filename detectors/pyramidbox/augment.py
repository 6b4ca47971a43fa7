"""PyramidBox training augmentation (public recipe): data-anchor-sampling or a random square crop to a
fixed size, photometric distortion, horizontal flip, tiny faces dropped.

Arrays: image (ndarray[H, W, 3] uint8 RGB), boxes (ndarray[M, 4] float64, (x1, y1, x2, y2) in pixels of
that image). Every random choice comes from the `numpy.random.Generator` passed in (exact resume).

Data-anchor-sampling (PyramidBox Sec. 3.4): pick a face at random, find the anchor size (16 ... 512)
nearest its size s = sqrt(w * h), draw a target anchor among the sizes up to one above it (at most the
5th), multiply by 2^U(-1, 1), rescale the image by target / s and take a crop of the output size that
contains that face. The crop is done as one affine warp of the original image (no full-size resize),
padded with the mean colour outside the image. Otherwise a square crop of 0.3-1.0 x the shorter side
is resized to the output size. Boxes keep the faces whose centre is in the crop, clipped to it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np

from facebench.detectors.pyramidbox.priors import ANCHOR_SIZES

RGB_MEAN_INT = (123, 117, 104)
_MAX_PIXELS = 5000 * 5000  # upper bound of the rescaled image, as in the public code


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings (the public port's values).

    Attributes:
        size: side of the square training crop in pixels (640).
        anchor_sampling_prob: probability of data-anchor-sampling instead of a random square crop.
        min_face: faces with a side shorter than this (pixels, after the crop) are dropped.
        distort: apply photometric distortion (brightness 0.125, contrast 0.5, saturation 0.5, hue 18
            degrees; each with probability 0.5).
        flip_prob: probability of a horizontal flip.
    """

    size: int = 640
    anchor_sampling_prob: float = 0.5
    min_face: float = 6.0
    distort: bool = True
    flip_prob: float = 0.5


def _warp(image: np.ndarray, scale: float, x0: float, y0: float, size: int) -> np.ndarray:
    """The `size` x `size` crop at (x0, y0) of the image rescaled by `scale`, bilinear, mean-padded.

    Continuous coordinates (pixel i covers [i, i + 1)): crop point u = scale * x - x0. Shrinking is
    area-averaged first (cv2.resize INTER_AREA), then the rest is one affine warp.
    """
    sx = sy = scale
    if scale < 1:
        height, width = image.shape[:2]
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        sx, sy = scale * width / image.shape[1], scale * height / image.shape[0]
    # cv2 maps pixel centres (integer coordinates): shift by half a pixel on both sides.
    matrix = np.array([[sx, 0.0, 0.5 * (sx - 1) - x0], [0.0, sy, 0.5 * (sy - 1) - y0]])
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=RGB_MEAN_INT)


def _keep_in_crop(boxes: np.ndarray, size: int, min_face: float) -> np.ndarray:
    """Boxes (already in crop pixels) whose centre is inside [0, size), clipped, with both sides >= min_face."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = np.all((centre >= 0) & (centre < size), axis=1)
    boxes = np.clip(boxes[inside], 0, size)
    wh = boxes[:, 2:] - boxes[:, :2]
    return boxes[np.all(wh >= min_face, axis=1)]


def _crop_origin(lo: float, hi: float, size: int, rng: np.random.Generator) -> float:
    """Origin of a `size` window along one axis containing [lo, hi] (or inside it when it is larger)."""
    a, b = hi - size, lo
    return float(rng.uniform(min(a, b), max(a, b)))


def data_anchor_sampling(image: np.ndarray, boxes: np.ndarray, size: int, rng: np.random.Generator,
                         min_face: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """Data-anchor-sampling (see the module docstring). Needs at least one box.

    Returns:
        crop (ndarray[size, size, 3] uint8 RGB), boxes (ndarray[K, 4] float64, crop pixels).
    """
    height, width = image.shape[:2]
    face = boxes[rng.integers(len(boxes))]
    face_size = math.sqrt(max((face[2] - face[0]) * (face[3] - face[1]), 1e-6))
    nearest = int(np.argmin([abs(a - face_size) for a in ANCHOR_SIZES]))
    target = ANCHOR_SIZES[rng.integers(min(nearest + 1, 5) + 1)]
    scale = target / face_size * 2.0 ** rng.uniform(-1.0, 1.0)
    scale = min(scale, math.sqrt(_MAX_PIXELS / (height * width)))
    x0 = _crop_origin(face[0] * scale, face[2] * scale, size, rng)
    y0 = _crop_origin(face[1] * scale, face[3] * scale, size, rng)
    crop = _warp(image, scale, x0, y0, size)
    moved = boxes * scale - np.array([x0, y0, x0, y0])
    return crop, _keep_in_crop(moved, size, min_face)


def random_square_crop(image: np.ndarray, boxes: np.ndarray, size: int, rng: np.random.Generator,
                       min_face: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """A square of side U(0.3, 1) x the shorter image side at a random place, resized to `size`."""
    height, width = image.shape[:2]
    side = rng.uniform(0.3, 1.0) * min(height, width)
    left, top = rng.uniform(0, width - side), rng.uniform(0, height - side)
    scale = size / side
    crop = _warp(image, scale, left * scale, top * scale, size)
    moved = (boxes - np.array([left, top, left, top])) * scale
    return crop, _keep_in_crop(moved, size, min_face)


def photometric_distort(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast, saturation and hue changes (each with probability 0.5), uint8 RGB."""
    x = image.astype(np.float32) / 255.0
    if rng.random() < 0.5:
        x = x * (1.0 + rng.uniform(-0.125, 0.125))
    if rng.random() < 0.5:
        x = (x - x.mean()) * (1.0 + rng.uniform(-0.5, 0.5)) + x.mean()
    x = np.clip(x, 0.0, 1.0)
    saturate, shift_hue = rng.random() < 0.5, rng.random() < 0.5
    if saturate or shift_hue:
        hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)  # float: H in [0, 360), S, V in [0, 1]
        if saturate:
            hsv[..., 1] = np.clip(hsv[..., 1] * (1.0 + rng.uniform(-0.5, 0.5)), 0.0, 1.0)
        if shift_hue:
            hsv[..., 0] = (hsv[..., 0] + rng.uniform(-18.0, 18.0)) % 360.0
        x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def augment(image: np.ndarray, boxes: np.ndarray, config: AugmentConfig,
            rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """The full training transform.

    Args:
        image (ndarray[H, W, 3] uint8 RGB), boxes (ndarray[M, 4] float64 pixels, M >= 1).

    Returns:
        crop (ndarray[size, size, 3] uint8 RGB), boxes (ndarray[K, 4] float64 crop pixels, K >= 0).
    """
    if rng.random() < config.anchor_sampling_prob:
        crop, kept = data_anchor_sampling(image, boxes, config.size, rng, config.min_face)
    else:
        crop, kept = random_square_crop(image, boxes, config.size, rng, config.min_face)
    if config.distort:
        crop = photometric_distort(crop, rng)
    if rng.random() < config.flip_prob:
        crop = np.ascontiguousarray(crop[:, ::-1])
        kept = np.stack((config.size - kept[:, 2], kept[:, 1], config.size - kept[:, 0], kept[:, 3]), 1)
    return crop, kept
