"""Unpaired training batches for LightenDiffusion: random crops of dark photos and of normal-light photos.

The batch of step k depends only on (seed, k): each stream (dark, normal) visits its images in a fresh
permutation per epoch seeded by (seed, stream, epoch); crop positions, flips and the synthetic exposure
changes come from a generator seeded by (seed, k). So `--resume` continues exactly.

Tensors: images [B, 3, S, S] float32 RGB in [0, 1] (S = crop size).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

import cv2
import numpy as np
import torch

from facebench.datasets.images import IMAGE_SUFFIXES, images_under, read_image


def list_images(folders: Sequence[str], option: str) -> List[Path]:
    """Image files under `folders` (recursive, sorted); ValueError naming the option and folder if one has none."""
    files: List[Path] = []
    for folder in folders:
        found = images_under(folder)
        if not found:
            raise ValueError(f"{option} {folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
        files += found
    return files


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """The generator of everything random in training step `step` (crops, flips, timesteps, noise) of torchrun
    rank `rank`; rank 0 draws what a single process draws, so one process is the same run as before."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step + rank * 2 ** 40)


def stream_indices(step: int, count: int, batch_size: int, seed: int, stream: int) -> List[int]:
    """`batch_size` indices into `count` images for `step`: per-epoch permutations seeded by (seed, stream, epoch)."""
    per_epoch = max(1, count // batch_size)
    epoch, slot = divmod(step, per_epoch)
    order = torch.randperm(count, generator=torch.Generator().manual_seed((seed * 31 + stream) * 1_000_003 + epoch))
    order = order.repeat(-(-batch_size // count))  # fewer images than a batch: repeat the permutation
    return order[slot * batch_size:(slot + 1) * batch_size].tolist()


def random_crop(image: np.ndarray, size: int, generator: torch.Generator) -> np.ndarray:
    """A size x size crop of uint8 RGB [H, W, 3] (upscaled first so the short side is >= size), flipped
    horizontally with probability 1/2."""
    h, w = image.shape[:2]
    if min(h, w) < size:
        scale = size / min(h, w)
        image = cv2.resize(image, (max(size, round(w * scale)), max(size, round(h * scale))),
                           interpolation=cv2.INTER_LINEAR)
        h, w = image.shape[:2]
    top = int(torch.randint(0, h - size + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - size + 1, (1,), generator=generator))
    crop = image[top:top + size, left:left + size]
    return crop[:, ::-1] if bool(torch.rand(1, generator=generator) < 0.5) else crop


def load_crops(files: Sequence[Path], indices: Sequence[int], size: int, generator: torch.Generator) -> torch.Tensor:
    """Random crops of files[i] for i in indices: Tensor[len(indices), 3, size, size] in [0, 1]."""
    crops = [random_crop(read_image(files[i]), size, generator) for i in indices]
    return torch.from_numpy(np.ascontiguousarray(np.stack(crops))).permute(0, 3, 1, 2).float() / 255.0


def exposure_variant(images: torch.Tensor, generator: torch.Generator, gain=(0.15, 0.6), gamma=(1.0, 1.5)
                     ) -> torch.Tensor:
    """The same scenes under less light: gain * images ** gamma, gain and gamma uniform per image.

    images [B, 3, H, W] in [0, 1] -> [B, 3, H, W] in [0, 0.6].
    """
    b = images.shape[0]
    g = gain[0] + (gain[1] - gain[0]) * torch.rand(b, 1, 1, 1, generator=generator)
    p = gamma[0] + (gamma[1] - gamma[0]) * torch.rand(b, 1, 1, 1, generator=generator)
    return g * images.clamp_min(0) ** p
