"""Unpaired training data for NeRCo: low-light photos (domain A) and normal-light photos (domain B).

A domain's photos come from a folder (`--dark`, `--normal`) and / or the two sides of a paired folder
(`--paired`: low/ into A, high/ into B, except the last `holdout` pairs by name). Paired images are still
drawn independently, so training stays unpaired; what a paired folder adds is the same scenes in both
domains, so the discriminators cannot tell the domains apart by content.

Each photo is decoded once and resized to load_size x load_size (OpenCV INTER_AREA; the authors resize
with PIL bicubic to 512 x 512), then every step takes a random crop_size x crop_size crop and a random
horizontal flip (the authors' resize_and_crop + flip). As in CycleGAN's unaligned dataset, A goes through
a fresh permutation each epoch and B is drawn at random; an epoch is max(|A|, |B|) / batch steps.
Every draw comes from a generator seeded by (seed, step), so a batch depends only on those two numbers
and a resumed run sees the same batches.

Tensors: batches Tensor[N, 3, crop_size, crop_size] float32 RGB in [-1, 1].
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np
import torch

from facebench.datasets.images import IMAGE_SUFFIXES, images_under, read_image
from facebench.pairs import pairs_before_holdout


def find_images(folder: "str | Path", option: str) -> List[Path]:
    """Image files under `folder` (recursive, sorted); ValueError naming `option` when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{option} {folder}: not a folder")
    files = images_under(folder)
    if not files:
        raise ValueError(f"{option} {folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def domain_files(dark: str, normal: str, paired: str, holdout: int) -> Tuple[List[Path], List[Path]]:
    """(A, B) image files: each folder given ("" = none) then the paired folder's kept low / high images.

    Raises:
        ValueError: a domain without any source, or a source without images (naming the option).
    """
    if not (dark or paired) or not (normal or paired):
        raise ValueError("NeRCo needs low-light photos (--dark and/or --paired) and normal-light photos "
                         "(--normal and/or --paired)")
    kept = pairs_before_holdout(paired, holdout) if paired else []
    a = (find_images(dark, "--dark") if dark else []) + [pair.low for pair in kept]
    b = (find_images(normal, "--normal") if normal else []) + [pair.high for pair in kept]
    return a, b


def load_resized(files: List[Path], size: int) -> torch.Tensor:
    """Photos resized to size x size: Tensor[K, 3, size, size] uint8 RGB."""
    arrays = [cv2.resize(read_image(f), (size, size), interpolation=cv2.INTER_AREA) for f in files]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


class UnpairedBatches:
    """Batches of (A, B) crops for a step.

    Args:
        dark, normal: Tensor[K_A, 3, L, L] and Tensor[K_B, 3, L, L] uint8 (from `load_resized`).
        crop_size: side of the crops (<= L). batch_size: images per domain per step. seed: data seed.
    """

    def __init__(self, dark: torch.Tensor, normal: torch.Tensor, crop_size: int, batch_size: int, seed: int):
        if crop_size > dark.shape[-1]:
            raise ValueError(f"crop size {crop_size} is larger than the load size {dark.shape[-1]}")
        self.dark, self.normal = dark, normal
        self.crop_size, self.batch_size, self.seed = crop_size, batch_size, seed

    @property
    def steps_per_epoch(self) -> int:
        return max(1, max(len(self.dark), len(self.normal)) // self.batch_size)

    def __call__(self, step: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """(A, B) for optimiser step `step` (0-based): two Tensor[N, 3, crop, crop] in [-1, 1]."""
        epoch, slot = divmod(step, self.steps_per_epoch)
        order = torch.randperm(len(self.dark), generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
        a_index = [int(order[(slot * self.batch_size + i) % len(self.dark)]) for i in range(self.batch_size)]
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + 7_919 * (step + 1))
        b_index = torch.randint(len(self.normal), (self.batch_size,), generator=g).tolist()
        return self._crops(self.dark, a_index, g), self._crops(self.normal, b_index, g)

    def _crops(self, images: torch.Tensor, indices: List[int], g: torch.Generator) -> torch.Tensor:
        span = images.shape[-1] - self.crop_size + 1
        crops = []
        for i in indices:
            top, left = torch.randint(span, (2,), generator=g).tolist()
            crop = images[i, :, top:top + self.crop_size, left:left + self.crop_size]
            if torch.rand((), generator=g) < 0.5:
                crop = crop.flip(-1)
            crops.append(crop)
        return torch.stack(crops).float() / 127.5 - 1.0
