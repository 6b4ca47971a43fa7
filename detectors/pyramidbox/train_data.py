"""Training batches for PyramidBox, each a pure function of (seed, step, rank): a resumed run sees
exactly the batches it would have seen, with any number of DataLoader workers.

Dimensions: B images per batch, S = crop size, M_i faces of image i.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from facebench.datasets.dataset import Sample
from facebench.datasets.images import read_image
from facebench.detectors.pyramidbox.augment import AugmentConfig, augment
from facebench.detectors.toolkit import RGB_MEAN

_TRIES = 10  # augmentations drawn for one image until a face survives the crop


def to_network(crop: np.ndarray) -> torch.Tensor:
    """uint8 RGB [S, S, 3] -> Tensor[3, S, S] float32, RGB 0..255 minus the mean."""
    x = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))).float()
    return x - torch.tensor(RGB_MEAN).view(3, 1, 1)


class TrainBatches(Dataset):
    """Item `step` = the augmented batch of that training step.

    Args:
        samples: images with at least one face (others are ignored).
        batch_size: images per batch (per process).
        config: augmentation settings.
        seed: run seed.
        rank: process rank under torchrun (each rank draws different images).

    Item:
        images (Tensor[B, 3, S, S] float32): network input.
        faces (list of B Tensor[M_i, 4] float32): (x1, y1, x2, y2) normalised by S, M_i >= 0.
    """

    def __init__(self, samples: Sequence[Sample], batch_size: int, config: AugmentConfig, seed: int, rank: int = 0):
        self.samples = [s for s in samples if len(s.boxes) > 0 and s.image_path is not None]
        if not self.samples:
            raise ValueError("pyramidbox training: no image with at least one face box (and an image file)")
        self.batch_size, self.config, self.seed, self.rank = batch_size, config, seed, rank

    def __len__(self) -> int:
        return 2**62  # steps are addressed directly; the sampler decides which are drawn

    def _one(self, sample: Sample, rng: np.random.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
        image = read_image(sample.image_path)
        for _ in range(_TRIES):
            crop, boxes = augment(image, np.asarray(sample.boxes, dtype=np.float64), self.config, rng)
            if len(boxes):
                break
        return to_network(crop), torch.from_numpy(boxes / self.config.size).float()

    def __getitem__(self, step: int) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        rng = np.random.default_rng([self.seed, step, self.rank])
        picks = rng.integers(len(self.samples), size=self.batch_size)
        items = [self._one(self.samples[i], rng) for i in picks]
        return torch.stack([im for im, _ in items]), [boxes for _, boxes in items]
