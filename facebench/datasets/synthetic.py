"""A synthetic dark face dataset built offline from data bundled with scikit-image (SYNTHETIC, not real).

Per image (seeded by (seed, index), so image i is the same whatever the count):
1. scene: a random crop of a bundled face-free photo or texture (rocket, coffee, brick, grass, gravel;
   textures tinted), resized to width x height, randomly mirrored;
2. faces: 0 faces with probability `empty_fraction`, else 1..max_faces; each an LFW face crop from
   `skimage.data.lfw_subset()` (the first 100 of its 200 crops are faces, 25x25 gray), mirrored at
   random, tinted with a skin tone, resized to a side drawn log-uniformly in [min_face, max_face] px
   (height 1.0..1.2 x width), pasted without overlap fully inside the image with a feathered edge
   (alpha >= 0.5 on the outermost pixels, so the visible face fills the box);
3. lighting: the scene is multiplied by a smooth map in [0.5, 1] (two or three lamp-like glows);
4. darkening: `facebench.lowlight` (physical model, exposure drawn log-uniformly in 0.03..0.15).

The box of each face is exactly the pasted extent: (x, y, x + w, y + h), integers, in pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import cv2
import numpy as np
import skimage.data

from facebench import lowlight

GENERATOR_VERSION = 1
NAME = "synthetic-lfw-dark (SYNTHETIC)"
_LFW_FACES = 100  # lfw_subset(): the first 100 crops are faces, the other 100 are not
SCENES = ("rocket", "coffee", "brick", "grass", "gravel")  # bundled, no download, no faces
_SKIN_TONES = np.array([[1.00, 0.80, 0.66], [0.96, 0.74, 0.58], [0.86, 0.62, 0.47],
                        [0.66, 0.46, 0.34], [0.45, 0.31, 0.23], [1.00, 0.86, 0.76]])
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the synthetic set (all of them change its content and its cache key).

    Attributes:
        count: number of images.
        width, height: image size in pixels.
        seed: base seed; image i uses numpy Generator seeded with [seed, i].
        min_face, max_face: range of face widths in pixels (log-uniform).
        max_faces: most faces in one image.
        empty_fraction: probability that an image has no face.
    """

    count: int = 24
    width: int = 640
    height: int = 480
    seed: int = 0
    min_face: float = 8.0
    max_face: float = 64.0
    max_faces: int = 10
    empty_fraction: float = 0.125

    def __post_init__(self) -> None:
        if self.count < 1 or self.max_faces < 1 or not 0 <= self.empty_fraction <= 1:
            raise ValueError(f"synthetic set: count {self.count}, max_faces {self.max_faces}, empty_fraction "
                             f"{self.empty_fraction}; expected count >= 1, max_faces >= 1, 0 <= empty_fraction <= 1")
        if not 1 <= self.min_face <= self.max_face <= min(self.width, self.height) / 1.2:
            raise ValueError(f"synthetic set: faces {self.min_face}..{self.max_face} px in {self.width}x{self.height}; "
                             "expected 1 <= min_face <= max_face <= min(width, height) / 1.2")


@dataclass(frozen=True)
class SyntheticImage:
    """One generated image.

    Attributes:
        dark (ndarray[H, W, 3], uint8): the darkened RGB image (what the benchmark sees).
        bright (ndarray[H, W, 3], uint8): the same scene before darkening.
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
    wanted = 0 if empty else int(rng.integers(1, config.max_faces + 1))
    boxes = _paste_faces(scene, rng, wanted, config)
    bright = np.round(np.clip(scene * _lighting(rng, config.width, config.height)[:, :, None], 0, 1) * 255)
    bright = bright.astype(np.uint8)
    model = lowlight.sample_model(rng)
    return SyntheticImage(dark=lowlight.darken(bright, model, rng), bright=bright,
                          boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4), exposure=model.exposure)


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


def _paste_faces(scene: np.ndarray, rng: np.random.Generator, wanted: int, config: SyntheticConfig) -> list:
    """Paste up to `wanted` non-overlapping faces into `scene` in place; returns their boxes."""
    boxes: list = []
    occupied = np.zeros(scene.shape[:2], dtype=bool)
    for _ in range(wanted):
        w = int(round(np.exp(rng.uniform(np.log(config.min_face), np.log(config.max_face)))))
        h = int(round(w * rng.uniform(1.0, 1.2)))
        face = _face_patch(rng, w, h)
        for _attempt in range(30):
            x = int(rng.integers(0, config.width - w + 1))
            y = int(rng.integers(0, config.height - h + 1))
            if not occupied[max(y - 2, 0):y + h + 2, max(x - 2, 0):x + w + 2].any():
                break
        else:
            continue
        alpha = _feather(w, h)[:, :, None]
        region = scene[y:y + h, x:x + w]
        region[...] = alpha * face + (1 - alpha) * region
        occupied[y:y + h, x:x + w] = True
        boxes.append((x, y, x + w, y + h))
    return boxes


def _face_patch(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A tinted LFW face resized to [h, w, 3], float64 in [0, 1]."""
    gray = _lfw_faces()[int(rng.integers(_LFW_FACES))]
    if rng.random() < 0.5:
        gray = gray[:, ::-1]
    interpolation = cv2.INTER_AREA if w < gray.shape[1] else cv2.INTER_CUBIC
    gray = cv2.resize(np.ascontiguousarray(gray), (w, h), interpolation=interpolation)
    tone = _SKIN_TONES[int(rng.integers(len(_SKIN_TONES)))]
    gain = rng.uniform(0.8, 1.2) / float(tone @ _LUMA)
    return np.clip(gray[:, :, None] * tone * gain, 0.0, 1.0)


def _feather(w: int, h: int) -> np.ndarray:
    """Alpha [h, w] in [0.5, 1]: 0.5 on the border pixels rising to 1 over 20% of the smaller side."""
    dist_x = np.minimum(np.arange(w), np.arange(w)[::-1])
    dist_y = np.minimum(np.arange(h), np.arange(h)[::-1])
    dist = np.minimum(dist_y[:, None], dist_x[None, :]).astype(np.float64)
    return np.clip(0.5 + 0.5 * dist / max(0.2 * min(w, h), 1.0), 0.5, 1.0)


def _lighting(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth illumination map [H, W] in [0.5, 1]: a floor plus two or three Gaussian glows.

    Computed on a grid 8x coarser and resized (the map is smooth, and full size costs ~20 ms).
    """
    small_w, small_h = max(width // 8, 1), max(height // 8, 1)
    ys, xs = np.mgrid[0:small_h, 0:small_w].astype(np.float64) * 8
    glow = np.zeros((small_h, small_w))
    for _ in range(int(rng.integers(2, 4))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        sigma = rng.uniform(0.15, 0.4) * max(width, height)
        glow = np.maximum(glow, np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma ** 2)))
    return 0.5 + 0.5 * cv2.resize(glow, (width, height), interpolation=cv2.INTER_LINEAR)
