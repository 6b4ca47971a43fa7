"""Training pairs for MR-VAE: real low/normal pairs plus synthetic pairs, as (low, high) batches.

Sources:
    paired folders  `low/` + `high/` of equal names (facebench.pairs), e.g. SICE part 1. The last
                    `holdout` pairs by name of each folder are never loaded: they are kept for
                    validation and test (for ../shared/data/paired/sice_part1 they are the MLSM
                    validation + test pairs).
    synthetic folders  normal-light photos, darkened on the fly by `facebench.lowlight.darken_like_darkface`
                    (DARK FACE's night camera: Poisson-Gaussian noise of DARK FACE's level, colour noise
                    reduction) to a mean brightness drawn log-uniformly from `brightness_range`.
Every dark input is then (after darkening) JPEG-compressed (OpenCV) at a QF drawn from `qfs` (empty =
never), since facebench evaluates on dark, compressed frames. Crops: a random `crop` x `crop` window with a random
flip / 90-degree rotation, or (`resize` > 0, the authors' recipe) the whole image resized to
`resize` x `resize` without augmentation. Batch `step` depends only on (seed, step), so a resumed
run sees the same batches. Batches: Tensor[B, 3, S, S] float32 RGB in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

import cv2
import numpy as np
import torch

from facebench.datasets.images import IMAGE_SUFFIXES, images_under, read_image
from facebench.degrade import jpeg_roundtrip
from facebench.lowlight import check_brightness_range, darken_like_darkface, sample_brightness
from facebench.pairs import pairs_before_holdout, read_pair

Pair = Tuple[np.ndarray, np.ndarray]  # (low, high) uint8 RGB [H, W, 3] of equal size


@dataclass(frozen=True)
class DataConfig:
    """Where pairs come from and how each batch is cut (everything that changes the batches).

    `brightness_range`: mean brightness (fraction of full scale, noise-free) of synthetic darks, drawn
    log-uniformly; it must reach DARK FACE's frames (0.021..0.054; SICE lows are 0.045..0.14).
    """

    paired: Tuple[str, ...] = ()
    synthetic: Tuple[str, ...] = ()
    holdout: int = 25
    synthetic_fraction: float = 0.5
    brightness_range: Tuple[float, float] = (0.012, 0.2)
    qfs: Tuple[int, ...] = tuple(range(60, 101))
    crop: int = 128
    resize: int = 0
    batch_size: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.paired and not self.synthetic:
            raise ValueError("MR-VAE training needs --paired and/or --synthetic folders")
        side = self.resize or self.crop
        if side < 16 or side % 16:
            raise ValueError(f"crop / resize {side}: must be a positive multiple of 16")
        if not 0 <= self.synthetic_fraction <= 1 or self.holdout < 0 or self.batch_size < 1:
            raise ValueError("synthetic_fraction must be in [0, 1], holdout >= 0, batch_size >= 1")
        check_brightness_range(self.brightness_range)


def training_pairs(folder: "str | Path", holdout: int) -> List[Pair]:
    """The decoded pairs of a paired folder except its last `holdout` by name (one-line error when none remain)."""
    return [read_pair(pair) for pair in pairs_before_holdout(folder, holdout)]


def normal_photos(folder: "str | Path") -> List[np.ndarray]:
    """Decoded photos under `folder` (recursive, sorted by path); one-line error when there are none."""
    files = images_under(folder)
    if not files:
        raise ValueError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    return [read_image(path) for path in files]


class PairSource:
    """The image pools of a DataConfig and the batch of every step.

    Args:
        config: the data config; photos smaller than the crop are refused (ValueError naming the size).
    """

    def __init__(self, config: DataConfig):
        self.config = config
        self.pairs = [p for folder in config.paired for p in training_pairs(folder, config.holdout)]
        self.photos = [p for folder in config.synthetic for p in normal_photos(folder)]
        if not config.resize:
            small = [im.shape for im in [low for low, _ in self.pairs] + self.photos if min(im.shape[:2]) < config.crop]
            if small:
                raise ValueError(f"{len(small)} training images are smaller than the {config.crop}px crop "
                                 f"(e.g. {small[0][1]}x{small[0][0]}); use a smaller --crop")

    def _window(self, images: Sequence[np.ndarray], rng: np.random.Generator) -> List[np.ndarray]:
        """The same random crop + flip / rotation (or whole-image resize) of equally sized images."""
        c = self.config
        if c.resize:
            return [cv2.resize(im, (c.resize, c.resize), interpolation=cv2.INTER_AREA) for im in images]
        h, w = images[0].shape[:2]
        y, x = rng.integers(h - c.crop + 1), rng.integers(w - c.crop + 1)
        k, flip = int(rng.integers(4)), bool(rng.random() < 0.5)
        out = []
        for im in images:
            patch = np.rot90(im[y:y + c.crop, x:x + c.crop], k)
            out.append(np.ascontiguousarray(patch[:, ::-1] if flip else patch))
        return out

    def _example(self, rng: np.random.Generator) -> Pair:
        c = self.config
        synthetic = not self.pairs or (self.photos and rng.random() < c.synthetic_fraction)
        if synthetic:
            (high,) = self._window([self.photos[rng.integers(len(self.photos))]], rng)
            low = darken_like_darkface(high, sample_brightness(rng, c.brightness_range), rng)
        else:
            low, high = self._window(self.pairs[rng.integers(len(self.pairs))], rng)
        if c.qfs:
            low = jpeg_roundtrip(low, int(rng.choice(c.qfs)))
        return low, high

    def batch(self, step: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """(low, high) of `step`: Tensor[B, 3, S, S] float32 in [0, 1] each, deterministic in (seed, step)."""
        rng = np.random.default_rng([self.config.seed, step])
        lows, highs = zip(*(self._example(rng) for _ in range(self.config.batch_size)))

        def stack(arrays):
            return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div(255.0)

        return stack(lows), stack(highs)
