"""Training data for MLSM: image pools in memory and per-step random crops.

Sources (any may be empty):
    paired folders: `low/` + `high/` with equal file names (`facebench.pairs`); sizes must match per pair.
    dark folders: unpaired real dark photos (VAE_C).
    normal folders: unpaired normal-light photos (VAE_N).
    synthetic folders: normal-light photos darkened by `facebench.lowlight.darken_like_darkface` (a night
        camera calibrated on DARK FACE: Poisson-Gaussian noise, colour noise reduction) to a mean
        brightness log-uniform in `brightness_range`, making extra (dark, normal) pairs; they also
        serve as normal-light images for VAE_N. A `street_lights` share of them is first lit as a night
        street (`facebench.night_lighting`: street-light glows, then lamps in both images), so the dark
        input's brightness varies up to 100x across the crop while the target stays evenly lit. A `mosaic`
        share is a grid of 1x1, 2x2 or 3x3 whole photos shrunk into the crop, so faces and objects are
        as small as in a DARK FACE frame (10-30 px), not the 34-64 px median AFW face of a one-photo crop.
    face-box lists: AFW-style face lists (`facebench.datasets.afw`) for the opt-in face-box loss: a
        `face_fraction` share of the paired items is a mosaic of these photos, darkened and compressed like
        the synthetic pairs, with the faces' boxes (`facebench.mlsm.face_crops`).
    target noise: with `target_noise` > 0 the target of a synthetic or face pair keeps that share of its dark
        input's sensor noise, brightened back (`facebench.lowlight.keep_noise`): a model trained on it
        brightens and removes JPEG blocks but denoises only in part. Real pairs keep their targets.
    colour filter array: with `cfa_noise` the night camera records through an RGGB mosaic and demosaics
        (`facebench.lowlight`), so the synthetic noise is correlated over about 2 px like a real frame's,
        instead of independent per pixel.
Every dark input is JPEG-compressed (OpenCV) at a QF drawn from `qfs` after cropping, as in the paper
(compression after darkening). Pairs, pooled and sorted by folder then name, are split from the end:
the last `test_count` are never loaded (reserved for reporting), the `val_count` before them are held
out for validation and checkpoint selection, the rest train.

Sampling is a pure function of (seed, step, rank), so a resumed run sees the same batches.
Batches are Tensor[B, 3, crop, crop] float32 RGB in [0, 1]; with a face share, paired batches also hold
'labelled' (Tensor[B] bool, the items that are face mosaics) and 'boxes' (Tensor[K, 5] float32: item index,
then x1, y1, x2, y2 in crop pixels).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from facebench.datasets.afw import downscale, read_afw
from facebench.datasets.dataset import DatasetError
from facebench.datasets.images import IMAGE_SUFFIXES, images_under, read_image
from facebench.degrade import jpeg_roundtrip
from facebench.lowlight import check_brightness_range, darken_like_darkface, keep_noise, sample_brightness
from facebench.mlsm.face_crops import mosaic
from facebench.night_lighting import add_lamps, draw_lamps, glow_map, light_scene
from facebench.pairs import find_pairs, read_pair


@dataclass(frozen=True)
class DataConfig:
    """Where the training images come from and how crops are made.

    Attributes:
        paired, dark, normal, synthetic: folder lists (see the module docstring).
        val_count: pairs held out for validation (just before the test pairs).
        test_count: the last pairs, never loaded (kept for reporting results).
        qfs: JPEG quality factors drawn uniformly for every dark input.
        crop: square crop side in pixels; must be a multiple of the model's size multiple.
        max_side: images with a longer side are downscaled (INTER_AREA) to it when loaded (0 = never).
        scale_range: each crop is taken from the image resized by a factor drawn uniformly from this
            range (1, 1 = no rescaling); small factors show the model whole scenes at crop size.
        synthetic_fraction: share of synthetic pairs in paired batches when real pairs exist.
        brightness_range: mean brightness (fraction of full scale, noise-free) of synthetic dark crops,
            drawn log-uniformly; it must reach DARK FACE's frames (0.021..0.054; SICE lows are 0.045..0.14).
        street_lights: share of synthetic pairs lit as a night street (0 = none, the pairs of earlier runs).
        mosaic: share of synthetic pairs made as a mosaic of shrunken photos (0 = none, as earlier runs).
        face_boxes: AFW-style face lists (json) whose photos make labelled face mosaics.
        face_fraction: share of paired items that are labelled face mosaics (needs `face_boxes`; 0 = none).
        target_noise: share of a synthetic dark input's noise kept in its target (0 = clean targets, as in
            the paper and earlier runs; beyond the paper).
        cfa_noise: the night camera records through a colour filter array (False = per-pixel noise, as
            earlier runs). With `target_noise`, the kept noise then also holds the demosaicing's error at edges.
    """

    paired: Tuple[str, ...] = ()
    dark: Tuple[str, ...] = ()
    normal: Tuple[str, ...] = ()
    synthetic: Tuple[str, ...] = ()
    val_count: int = 10
    test_count: int = 15
    qfs: Tuple[int, ...] = tuple(range(60, 101))
    crop: int = 256
    max_side: int = 640
    scale_range: Tuple[float, float] = (0.5, 1.0)
    synthetic_fraction: float = 0.5
    brightness_range: Tuple[float, float] = (0.012, 0.2)
    street_lights: float = 0.0
    mosaic: float = 0.0
    face_boxes: Tuple[str, ...] = ()
    face_fraction: float = 0.0
    target_noise: float = 0.0
    cfa_noise: bool = False

    def __post_init__(self) -> None:
        if self.val_count < 0 or self.test_count < 0:
            raise ValueError(f"val_count and test_count must be >= 0, got {self.val_count}, {self.test_count}")
        if not 0 < self.scale_range[0] <= self.scale_range[1]:
            raise ValueError(f"scale_range must be 0 < low <= high, got {self.scale_range}")
        check_brightness_range(self.brightness_range)
        if not 0 <= self.street_lights <= 1:
            raise ValueError(f"street_lights must be a share in [0, 1], got {self.street_lights}")
        if not 0 <= self.mosaic <= 1:
            raise ValueError(f"mosaic must be a share in [0, 1], got {self.mosaic}")
        if not 0 <= self.face_fraction <= 1 or bool(self.face_fraction) != bool(self.face_boxes):
            raise ValueError(f"face_fraction must be a share in (0, 1] with face_boxes files and 0 without, got "
                             f"{self.face_fraction} with {len(self.face_boxes)} face list(s)")
        if not 0 <= self.target_noise <= 1:
            raise ValueError(f"target_noise must be a share in [0, 1], got {self.target_noise}")


def _fit(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max_side and max(h, w) > max_side:
        scale = max_side / max(h, w)
        rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return rgb


def read_rgb(path: Path, max_side: int = 0) -> np.ndarray:
    """uint8 RGB [H, W, 3], downscaled to `max_side`; DatasetError names an unreadable file."""
    return _fit(read_image(path), max_side)


def list_images(folder: "str | Path") -> List[Path]:
    """Image files under `folder` (recursive), sorted; DatasetError when the folder is missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: image folder not found")
    files = images_under(folder)
    if not files:
        raise DatasetError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def load_pairs(folders: Sequence[str], max_side: int = 0, skip_last: int = 0
               ) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """[(id, low uint8 RGB, high uint8 RGB)] sorted by folder then name, without the last `skip_last`."""
    found = [(f"{folder}/{pair.low.name}", pair) for folder in folders for pair in find_pairs(folder)]
    kept = found[:len(found) - skip_last] if skip_last else found
    return [(name, *(_fit(im, max_side) for im in read_pair(pair))) for name, pair in kept]


@dataclass
class TrainingData:
    """In-memory pools. `val` pairs are never sampled for training; test pairs are never loaded."""

    config: DataConfig
    pairs: List[Tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    val: List[Tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    dark: List[np.ndarray] = field(default_factory=list)
    normal: List[np.ndarray] = field(default_factory=list)
    synthetic: List[np.ndarray] = field(default_factory=list)
    faces: List[Tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    @classmethod
    def load(cls, config: DataConfig) -> "TrainingData":
        pairs = load_pairs(config.paired, config.max_side, config.test_count)
        if pairs and config.val_count >= len(pairs):
            raise DatasetError(f"val_count {config.val_count} + test_count {config.test_count} leave no training "
                               f"pairs in {', '.join(config.paired)}")
        cut = len(pairs) - config.val_count

        def pool(folders):
            return [read_rgb(p, config.max_side) for folder in folders for p in list_images(folder)]

        faces = [downscale(read_image(photo.path), photo.boxes, config.max_side)
                 for face_list in config.face_boxes for photo in read_afw(face_list)]
        return cls(config, pairs=[(lo, hi) for _, lo, hi in pairs[:cut]], val=pairs[cut:],
                   dark=pool(config.dark), normal=pool(config.normal), synthetic=pool(config.synthetic),
                   faces=faces)

    def describe(self) -> Dict[str, object]:
        """Counts and settings for checkpoint metadata."""
        c = self.config
        return {"paired": list(c.paired), "dark": list(c.dark), "normal": list(c.normal),
                "synthetic": list(c.synthetic), "train_pairs": len(self.pairs), "val_pairs": len(self.val),
                "val_ids": [v[0] for v in self.val], "test_pairs_excluded": c.test_count,
                "dark_images": len(self.dark), "normal_images": len(self.normal),
                "synthetic_sources": len(self.synthetic), "qfs": [min(c.qfs), max(c.qfs)] if c.qfs else [],
                "crop": c.crop, "max_side": c.max_side, "scale_range": list(c.scale_range),
                "synthetic_fraction": c.synthetic_fraction, "brightness_range": list(c.brightness_range),
                "street_lights": c.street_lights, "mosaic": c.mosaic, "face_boxes": list(c.face_boxes),
                "face_fraction": c.face_fraction, "face_photos": len(self.faces),
                "faces": int(sum(len(boxes) for _, boxes in self.faces)), "target_noise": c.target_noise,
                "cfa_noise": c.cfa_noise}

    def _crop(self, rng: np.random.Generator, *images: np.ndarray) -> List[np.ndarray]:
        """The same random rescale (`scale_range`), crop (offsets multiples of 8) and flip of all images."""
        size = self.config.crop
        scale = float(rng.uniform(*self.config.scale_range))
        h, w = images[0].shape[:2]
        if scale < 1.0 and min(h, w) * scale >= size:
            new = (round(w * scale), round(h * scale))
            images = tuple(cv2.resize(im, new, interpolation=cv2.INTER_AREA) for im in images)
            h, w = images[0].shape[:2]
        if h < size or w < size:
            images = tuple(cv2.resize(im, (max(w, size), max(h, size)), interpolation=cv2.INTER_CUBIC) for im in images)
            h, w = images[0].shape[:2]
        top = int(rng.integers(0, (h - size) // 8 + 1)) * 8
        left = int(rng.integers(0, (w - size) // 8 + 1)) * 8
        flip = bool(rng.integers(0, 2))
        out = [im[top:top + size, left:left + size] for im in images]
        return [np.ascontiguousarray(im[:, ::-1] if flip else im) for im in out]

    def _compress(self, rng: np.random.Generator, rgb: np.ndarray) -> np.ndarray:
        return jpeg_roundtrip(rgb, int(rng.choice(self.config.qfs)))

    def _synthetic_pair(self, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        if self.config.mosaic and rng.random() < self.config.mosaic:
            normal, _ = mosaic(rng, self.synthetic, self.config.crop)
        else:
            (normal,) = self._crop(rng, self.synthetic[int(rng.integers(len(self.synthetic)))])
        target = sample_brightness(rng, self.config.brightness_range)
        if self.config.street_lights and rng.random() < self.config.street_lights:
            return self._street_pair(rng, normal, target)
        return self._night_pair(rng, normal, target)

    def _night_pair(self, rng: np.random.Generator, normal: np.ndarray, target: float
                    ) -> Tuple[np.ndarray, np.ndarray]:
        """(compressed night frame of `normal` at mean `target`, its target: `normal` with `target_noise` of
        the frame's noise)."""
        dark = darken_like_darkface(normal, target, rng, cfa=self.config.cfa_noise)
        if self.config.target_noise:
            normal = keep_noise(normal, dark, target, self.config.target_noise)
        return self._compress(rng, dark), normal

    def _street_pair(self, rng: np.random.Generator, normal: np.ndarray, target: float
                     ) -> Tuple[np.ndarray, np.ndarray]:
        """`normal` lit by street-light glows, darkened to mean `target`, lamps added; the target is `normal`
        with the same lamps. Glows and lamps are drawn on a frame twice the crop's size whose centre is the
        crop: glows 6-30% of the crop wide, about one lamp per 256 px crop (the embedded face set's density)."""
        h, w = normal.shape[:2]
        illumination = glow_map(rng, 2 * w, 2 * h)[h // 2:h // 2 + h, w // 2:w // 2 + w]
        lamps = draw_lamps(rng, 2 * w, 2 * h, left=w // 2, top=h // 2)
        lit = light_scene(normal, illumination)
        dark = add_lamps(darken_like_darkface(lit, target, rng, cfa=self.config.cfa_noise), lamps)
        return self._compress(rng, dark), add_lamps(normal, lamps)

    def _face_pair(self, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dark, normal, boxes float64 [K, 4]): a mosaic of labelled photos darkened like a synthetic pair."""
        photos, boxes = zip(*self.faces)
        normal, faces = mosaic(rng, photos, self.config.crop, boxes)
        return (*self._night_pair(rng, normal, sample_brightness(rng, self.config.brightness_range)), faces)

    def _pair(self, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """(dark, normal, face boxes or None when the item is not labelled)."""
        if self.faces and rng.random() < self.config.face_fraction:
            return self._face_pair(rng)
        use_synthetic = self.synthetic and (not self.pairs or rng.random() < self.config.synthetic_fraction)
        if use_synthetic:
            return (*self._synthetic_pair(rng), None)
        low, high = self._crop(rng, *self.pairs[int(rng.integers(len(self.pairs)))])
        return self._compress(rng, low), high, None

    def _dark(self, rng: np.random.Generator) -> np.ndarray:
        pools = [p for p in (self.dark, [lo for lo, _ in self.pairs]) if p]
        if self.synthetic:
            pools.append(None)
        if not pools:
            raise ValueError("no dark training images: give --dark, --paired or --synthetic folders")
        choice = pools[int(rng.integers(len(pools)))]
        if choice is None:
            return self._synthetic_pair(rng)[0]
        (dark,) = self._crop(rng, choice[int(rng.integers(len(choice)))])
        return self._compress(rng, dark)

    def _normal(self, rng: np.random.Generator) -> np.ndarray:
        pools = [p for p in (self.normal, [hi for _, hi in self.pairs], self.synthetic) if p]
        if not pools:
            raise ValueError("no normal-light training images: give --normal, --paired or --synthetic folders")
        choice = pools[int(rng.integers(len(pools)))]
        return self._crop(rng, choice[int(rng.integers(len(choice)))])[0]

    def batch(self, kind: str, size: int, seed: int, step: int, rank: int = 0) -> Dict[str, torch.Tensor]:
        """A batch for `kind` in {'dark', 'normal', 'pair'}: {'dark': T, 'normal': T} (only the keys used).

        Deterministic in (seed, step, rank).
        """
        rng = np.random.default_rng([seed, step, rank])
        if kind == "pair":
            if not self.pairs and not self.synthetic:
                raise ValueError("no training pairs: give --paired or --synthetic folders")
            lows, highs, faces = zip(*(self._pair(rng) for _ in range(size)))
            batch = {"dark": _to_tensor(lows), "normal": _to_tensor(highs)}
            if self.config.face_fraction:
                batch.update(labelled=torch.tensor([f is not None for f in faces]), boxes=_box_tensor(faces))
            return batch
        if kind == "dark":
            return {"dark": _to_tensor([self._dark(rng) for _ in range(size)])}
        if kind == "normal":
            return {"normal": _to_tensor([self._normal(rng) for _ in range(size)])}
        raise ValueError(f"unknown batch kind {kind!r}")


def _box_tensor(faces: Sequence[Optional[np.ndarray]]) -> torch.Tensor:
    """Per item boxes [K_i, 4] or None -> Tensor[K, 5] float32 rows (item index, x1, y1, x2, y2)."""
    rows = [np.zeros((0, 5))] + [np.column_stack([np.full(len(f), i), f]) for i, f in enumerate(faces) if f is not None]
    return torch.from_numpy(np.concatenate(rows)).float()


def _to_tensor(images: Sequence[np.ndarray]) -> torch.Tensor:
    """uint8 RGB [H, W, 3] list -> Tensor[B, 3, H, W] float32 in [0, 1]."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255.0)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """One uint8 RGB [H, W, 3] -> Tensor[1, 3, H, W] float32 in [0, 1]."""
    return _to_tensor([rgb])


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """Tensor[1, 3, H, W] in [0, 1] -> uint8 RGB [H, W, 3] (rounded)."""
    return (image[0].detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
