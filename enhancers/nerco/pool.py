"""The history buffer of generated images the discriminators also see (CycleGAN's image pool, size 50).

query(images): each image (detached) is stored while the pool is not full and returned itself; once full,
with probability 1/2 a random stored image is returned and replaced by the new one, else the new one is
returned. Draws use Python's `random` (seeded and saved with the training state). The pool's content is
part of the training state (`state_dict` / `load_state_dict`) so that `--resume` continues exactly.

Tensors: images Tensor[N, C, H, W] -> Tensor[N, C, H, W], detached.
"""
from __future__ import annotations

import random
from typing import Dict, List

import torch


class ImagePool:
    """A buffer of up to `size` images (size 0: query returns its input, detached)."""

    def __init__(self, size: int = 50):
        self.size = size
        self.images: List[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            image = image[None]
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                slot = random.randint(0, self.size - 1)
                out.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                out.append(image)
        return torch.cat(out)

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """{'images': Tensor[K, C, H, W]} (K = images stored; empty pool: Tensor[0])."""
        return {"images": torch.cat(self.images) if self.images else torch.zeros(0)}

    def load_state_dict(self, state: Dict[str, torch.Tensor]) -> None:
        self.images = [image[None].clone() for image in state["images"]] if state["images"].numel() else []
