"""An enhancer chain 'a+b': apply a, then b (the paper's enhancement+deblocking protocols)."""
from __future__ import annotations

from typing import List

import torch

from facebench.plugin_api import Enhancer


class Chain(Enhancer):
    """Applies `parts` left to right; its identity is the list of the parts' identities."""

    def __init__(self, parts: List[Enhancer]):
        super().__init__()
        self.parts = list(parts)
        self.name = "+".join(p.name for p in self.parts)

    def identity(self) -> dict:
        return {"name": self.name, "chain": [p.identity() for p in self.parts]}

    def to(self, device):
        self.device = torch.device(device)
        for part in self.parts:
            part.to(device)
        return self

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        for part in self.parts:
            images = part.enhance(images)
        return images
