"""The two plugin contracts: `Enhancer` and `Detector`.

Tensor conventions (all plugins):
    images (Tensor[B, 3, H, W]): float32 RGB in [0, 1], on the plugin's device; one size per batch.
    detections (list of B Tensor[N, 5]): (x1, y1, x2, y2, score), boxes in pixels of the input image,
        score in [0, 1] (higher = more confident), float32, on any device.

A plugin's `identity()` is everything that changes its output (name, settings, weights hash). It is
stored in results.json and is part of the detection-cache key, so two runs with different settings
can never share cached results.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import torch

from facebench.plugin_meta import PluginMeta
from facebench.weights import WeightsInfo


class _Plugin:
    name: str = ""
    meta: PluginMeta = PluginMeta()

    def __init__(self) -> None:
        self.device = torch.device("cpu")
        self.weights: Optional[WeightsInfo] = None

    def settings(self) -> Dict[str, Any]:
        """Settings that change the output (JSON-serialisable). Subclasses with settings override."""
        config = getattr(self, "config", None)
        return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {}

    def identity(self) -> Dict[str, Any]:
        """Name, settings and weights (path, sha256, source): provenance and cache key."""
        return {
            "name": self.name,
            "settings": self.settings(),
            "weights": self.weights.as_dict() if self.weights else None,
        }

    def modules(self) -> List[torch.nn.Module]:
        """The torch modules to move between devices (attributes that are nn.Module)."""
        return [v for v in vars(self).values() if isinstance(v, torch.nn.Module)]

    def to(self, device: "str | torch.device"):
        """Move to `device` (modules are moved, set to eval mode); returns self."""
        self.device = torch.device(device)
        for module in self.modules():
            module.to(self.device).eval()
        return self

    @classmethod
    def weights_status(cls) -> str:
        """One line: where the default weights are (`meta.weights`), or that none are needed."""
        return cls.meta.weights.status()


class Enhancer(_Plugin):
    """Maps dark images to enhanced images of the same size.

    Subclasses set `name` and implement `enhance`. They must keep H and W and accept any size.
    """

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        """images (Tensor[B, 3, H, W], float RGB in [0, 1]) -> Tensor[B, 3, H, W] in [0, 1]."""
        raise NotImplementedError

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.enhance(images)


class Detector(_Plugin):
    """Finds faces. Subclasses set `name` and implement `detect`."""

    def detect(self, images: torch.Tensor) -> List[torch.Tensor]:
        """images (Tensor[B, 3, H, W], float RGB in [0, 1], values on the 8-bit grid k/255)
        -> list of B Tensor[N, 5]: (x1, y1, x2, y2, score), pixels of the input image."""
        raise NotImplementedError

    def __call__(self, images: torch.Tensor) -> List[torch.Tensor]:
        return self.detect(images)
