"""A synthetic dark face dataset built offline from data bundled with scikit-image (SYNTHETIC, not real).

It imitates DARK FACE's statistics: face sizes, shapes, counts and heights are drawn from the official
labels (tables below), brightness and sensor noise match the real night frames. Per image (seeded by
(seed, index), so image i is the same whatever the count):
1. scene: a random crop of a bundled face-free photo or texture (rocket, coffee, brick, grass, gravel;
   textures tinted), resized to width x height, randomly mirrored;
2. faces: 0 faces with probability `empty_fraction`, else a count drawn from DARK FACE's faces per
   image (at most `max_faces`); each an LFW face crop from `skimage.data.lfw_subset()` (the first 100
   of its 200 crops are faces, 25x25 gray), mirrored at random, tinted with a skin tone; its size
   sqrt(w*h) and shape h/w are drawn from DARK FACE's boxes, its centre height from DARK FACE's band
   of face heights (relative to the image height); its contrast raised and its brightness set
   relative to its surroundings as in DARK FACE; pasted without overlap fully inside the image with a
   feathered edge (alpha >= 0.5 on the outermost pixels, so the visible face fills the box);
3. lighting: the scene is multiplied by a dim floor plus two to six street-light glows (in [0.01, 1];
   `facebench.night_lighting.glow_map`);
4. darkening: `facebench.lowlight` (physical model) with the exposure that gives a mean brightness
   drawn log-uniformly from DARK FACE's range, and a sensor whose noise matches DARK FACE's, followed by
   a camera's colour noise reduction (chroma blur);
5. light sources: a few small saturated lamps with halos added in linear light (DARK FACE frames hold
   street lamps and signs: about 0.1-0.5% of their pixels are above 200; `facebench.night_lighting`).

The box of each face is exactly the pasted extent: (x, y, x + w, y + h), integers, in pixels.

DARK FACE statistics (computed once from all 43,849 official boxes of the 6,000 labelled 1080x720
images, `train.txt` + `test.txt` of the REGDet-layout labels; brightness and noise from the real frames):
face size sqrt(w*h) median 11.5 px, h/w median 1.08, 7.3 faces per image on average, centres at
45-67% of the image height (5th-95th percentile); in the 10 sample frames: mean brightness 0.021-0.054
of full scale, median pixel 3/255, 0.1-0.5% of pixels above 200, noise (robust std of a 3x3 residual)
about 1 grey level in luma and a third of that in chroma, faces as bright as their surroundings
(median ratio 0.99) with a std / mean of 0.71 inside the box.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import cv2
import numpy as np
import skimage.data

from facebench import lowlight
from facebench.night_lighting import add_lamps, draw_lamps, glow_map

GENERATOR_VERSION = 3
NAME = "synthetic-lfw-dark (SYNTHETIC)"
_LFW_FACES = 100  # lfw_subset(): the first 100 crops are faces, the other 100 are not
SCENES = ("rocket", "coffee", "brick", "grass", "gravel")  # bundled, no download, no faces
_SKIN_TONES = np.array([[1.00, 0.80, 0.66], [0.96, 0.74, 0.58], [0.86, 0.62, 0.47],
                        [0.66, 0.46, 0.34], [0.45, 0.31, 0.23], [1.00, 0.86, 0.76]])
_LUMA = np.array([0.299, 0.587, 0.114])

# DARK FACE label statistics (see the module docstring): quantiles at probabilities _P of ...
_P = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0)
_SIZE_PX = (1.41, 3.46, 4.0, 5.0, 6.48, 7.75, 9.49, 11.49, 13.96, 17.0, 21.49, 29.46, 38.88, 53.67, 67.23,
            314.9)  # ... the face size sqrt(w*h), pixels
_P_MID = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
_ASPECT = (0.714, 0.8, 0.933, 1.083, 1.286, 1.583, 1.803)  # ... h / w at _P_MID (tails left out)
_CENTRE_Y = (0.446, 0.472, 0.524, 0.568, 0.612, 0.644, 0.669)  # ... box centre y / image height at _P_MID
_FACES_PER_IMAGE = (177, 324, 504, 655, 645, 684, 635, 518, 440, 313, 234, 190, 155, 90, 98, 87, 68, 55, 28, 29,
                    27, 10, 12, 7, 7, 2, 0, 2, 3, 0, 0, 0, 0, 1)  # images with 1, 2, ..., 34 faces
_FACE_TO_SURROUND = (0.6, 1.6)  # face / surroundings mean brightness, log-uniform (DARK FACE median 0.99)
_FACE_CONTRAST = 3.0  # LFW contrast gain: face-box std / mean 0.57 (DARK FACE 0.71; plain LFW crops give 0.38)
_MEAN_BRIGHTNESS = (0.021, 0.054)  # mean of the dark image / 255, real DARK FACE frames


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the synthetic set (all of them change its content and its cache key).

    Attributes:
        count: number of images.
        width, height: image size in pixels.
        seed: base seed; image i uses numpy Generator seeded with [seed, i].
        min_face, max_face: face sizes sqrt(w*h) drawn from DARK FACE are clipped to this range, pixels
            (and to half the smaller image side, so that small images work with the defaults).
        max_faces: most faces in one image (DARK FACE's counts above it are clipped).
        empty_fraction: probability that an image has no face (DARK FACE's labelled images all have one).
    """

    count: int = 24
    width: int = 640
    height: int = 480
    seed: int = 0
    min_face: float = 2.0
    max_face: float = 96.0
    max_faces: int = 34
    empty_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.count < 1 or self.max_faces < 1 or not 0 <= self.empty_fraction <= 1:
            raise ValueError(f"synthetic set: count {self.count}, max_faces {self.max_faces}, empty_fraction "
                             f"{self.empty_fraction}; expected count >= 1, max_faces >= 1, 0 <= empty_fraction <= 1")
        if not 1 <= self.min_face <= min(self.max_face, min(self.width, self.height) / 2):
            raise ValueError(f"synthetic set: faces {self.min_face}..{self.max_face} px in {self.width}x{self.height}; "
                             "expected 1 <= min_face <= max_face and min_face <= min(width, height) / 2")


@dataclass(frozen=True)
class SyntheticImage:
    """One generated image.

    Attributes:
        dark (ndarray[H, W, 3], uint8): the darkened RGB image (what the benchmark sees).
        bright (ndarray[H, W, 3], uint8): the same scene before darkening (no lamps).
        boxes (ndarray[M, 4], float64): (x1, y1, x2, y2) in pixels, integer-valued.
        exposure: the low-light model's exposure.
    """

    dark: np.ndarray
    bright: np.ndarray
    boxes: np.ndarray
    exposure: float


def generate_image(config: SyntheticConfig, index: int) -> SyntheticImage:
    """Generate image `index` (0-based) of the set described by `config`."""
    rng = np.random.default_rng([config.seed, index])
    scene = _scene(rng, config.width, config.height)
    empty = rng.random() < config.empty_fraction
    wanted = 0 if empty else min(_draw_count(rng), config.max_faces)
    boxes = _paste_faces(scene, rng, wanted, config)
    bright = np.round(np.clip(scene * glow_map(rng, config.width, config.height)[:, :, None], 0, 1) * 255)
    bright = bright.astype(np.uint8)
    model = lowlight.night_camera(bright, _quantile(rng, (0.0, 1.0), _MEAN_BRIGHTNESS))
    dark = lowlight.smooth_chroma(lowlight.darken(bright, model, rng))
    dark = add_lamps(dark, draw_lamps(rng, config.width, config.height), model.gamma)
    return SyntheticImage(dark=dark, bright=bright, boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
                          exposure=model.exposure)


def _quantile(rng: np.random.Generator, probabilities: Sequence[float], values: Sequence[float]) -> float:
    """A draw from the distribution with these quantiles (linear between them in log value)."""
    u = rng.uniform(probabilities[0], probabilities[-1])
    return float(np.exp(np.interp(u, probabilities, np.log(values))))


def _draw_count(rng: np.random.Generator) -> int:
    """Faces in one image, drawn from DARK FACE's histogram."""
    weights = np.array(_FACES_PER_IMAGE, dtype=np.float64)
    return int(rng.choice(len(weights), p=weights / weights.sum())) + 1


def _scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A background (ndarray[H, W, 3] float64 in [0, 1]): a random crop of a bundled image."""
    source = _bundled_scene(SCENES[int(rng.integers(len(SCENES)))])
    src_h, src_w = source.shape[:2]
    scale = rng.uniform(0.5, 1.0)
    crop_w = min(src_w, int(round(scale * min(src_w, src_h * width / height))))
    crop_h = min(src_h, int(round(crop_w * height / width)))
    x0 = int(rng.integers(src_w - crop_w + 1))
    y0 = int(rng.integers(src_h - crop_h + 1))
    crop = cv2.resize(source[y0:y0 + crop_h, x0:x0 + crop_w], (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if source.ndim == 2:
        crop = crop[:, :, None] * rng.uniform(0.5, 1.0, size=3)
    return np.ascontiguousarray(crop, dtype=np.float64)


@lru_cache(maxsize=None)
def _bundled_scene(name: str) -> np.ndarray:
    """A bundled scikit-image picture, float64 in [0, 1], [H, W] (textures) or [H, W, 3]."""
    return getattr(skimage.data, name)().astype(np.float64) / 255.0


@lru_cache(maxsize=1)
def _lfw_faces() -> np.ndarray:
    """The LFW face crops bundled with scikit-image: ndarray[100, 25, 25] float64 in [0, 1]."""
    return skimage.data.lfw_subset()[:_LFW_FACES]


def _face_shape(rng: np.random.Generator, config: SyntheticConfig) -> tuple:
    """(w, h) in whole pixels: size sqrt(w*h) and aspect h/w drawn from DARK FACE's boxes."""
    largest = min(config.max_face, min(config.width, config.height) / 2)
    size = min(max(_quantile(rng, _P, _SIZE_PX), config.min_face), largest)
    aspect = _quantile(rng, _P_MID, _ASPECT)
    return max(1, int(round(size / np.sqrt(aspect)))), max(1, int(round(size * np.sqrt(aspect))))


def _paste_faces(scene: np.ndarray, rng: np.random.Generator, wanted: int, config: SyntheticConfig) -> list:
    """Paste up to `wanted` non-overlapping faces into `scene` in place; returns their boxes."""
    boxes: list = []
    occupied = np.zeros(scene.shape[:2], dtype=bool)
    for _ in range(wanted):
        w, h = _face_shape(rng, config)
        for _attempt in range(30):
            x = int(rng.integers(0, config.width - w + 1))
            y = int(np.clip(round(_quantile(rng, _P_MID, _CENTRE_Y) * config.height - h / 2), 0, config.height - h))
            if not occupied[max(y - 2, 0):y + h + 2, max(x - 2, 0):x + w + 2].any():
                break
        else:
            continue
        surround = scene[max(y - h // 2, 0):y + h + h // 2, max(x - w // 2, 0):x + w + w // 2] @ _LUMA
        face = _face_patch(rng, w, h, float(surround.mean()) * _quantile(rng, (0.0, 1.0), _FACE_TO_SURROUND))
        alpha = _feather(w, h)[:, :, None]
        region = scene[y:y + h, x:x + w]
        region[...] = alpha * face + (1 - alpha) * region
        occupied[y:y + h, x:x + w] = True
        boxes.append((x, y, x + w, y + h))
    return boxes


def _face_patch(rng: np.random.Generator, w: int, h: int, brightness: float) -> np.ndarray:
    """A tinted LFW face resized to [h, w, 3], float64 in [0, 1], its contrast raised `_FACE_CONTRAST` x
    about its mean and its mean luma set to `brightness` (before clipping)."""
    gray = _lfw_faces()[int(rng.integers(_LFW_FACES))]
    if rng.random() < 0.5:
        gray = gray[:, ::-1]
    interpolation = cv2.INTER_AREA if w < gray.shape[1] else cv2.INTER_CUBIC
    gray = cv2.resize(np.ascontiguousarray(gray), (w, h), interpolation=interpolation)
    gray = np.clip(gray.mean() + _FACE_CONTRAST * (gray - gray.mean()), 0.0, 1.0)
    tone = _SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))]
    face = gray[:, :, None] * tone
    return np.clip(face * brightness / max(float((face @ _LUMA).mean()), 1e-6), 0.0, 1.0)


def _feather(w: int, h: int) -> np.ndarray:
    """Alpha [h, w] in [0.5, 1]: 0.5 on the border pixels rising to 1 over 20% of the smaller side."""
    dist_x = np.minimum(np.arange(w), np.arange(w)[::-1])
    dist_y = np.minimum(np.arange(h), np.arange(h)[::-1])
    dist = np.minimum(dist_y[:, None], dist_x[None, :]).astype(np.float64)
    return np.clip(0.5 + 0.5 * dist / max(0.2 * min(w, h), 1.0), 0.5, 1.0)
