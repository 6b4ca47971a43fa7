"""`mlsm`: Multiple Latent Space Mapping (Eq. 19: D_N o {M_i} o E_C, latent means) as an enhancer.

Default weights ship in the package (`facebench/mlsm/weights/mlsm_default.pt`, trained by this project,
see mlsm/MODEL_CARD.md); `weights=PATH` (`--weights`) loads any checkpoint written by
`facebench train-enhancer mlsm` (its `mlsm.pt`). The architecture is rebuilt from the config stored in
the checkpoint, so 1/2/3-level models and the no-mapping ablation load the same way.
"""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from facebench.checkpoint import load_checkpoint
from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.mlsm.config import ModelConfig
from facebench.mlsm.inference import enhance_tiled
from facebench.mlsm.model import MLSM
from facebench.plugin_api import Enhancer
from facebench.weights import MissingWeightsError, describe

DEFAULT_WEIGHTS = BUILTIN_ENHANCERS["mlsm"].meta.weights.path


class MLSMEnhancer(Enhancer):
    """`mlsm`: compressed dark image enhancement by multi-level latent space mapping.

    Args:
        weights: checkpoint path; default the shipped `mlsm_default.pt`.
        tile: images longer than this (pixels per side) run in overlapping tiles, bounding memory; the
            default 1152 runs a 1080x720 DARK FACE frame in one pass (~0.5 GB for activations).
        overlap: pixels shared by neighbouring tiles (linearly blended).
    """

    name = "mlsm"
    meta = BUILTIN_ENHANCERS["mlsm"].meta

    def __init__(self, weights: Optional[str] = None, tile: int = 1152, overlap: int = 64):
        super().__init__()
        if tile < 64 or not 0 <= overlap < tile:
            raise ValueError(f"mlsm: need tile >= 64 and 0 <= overlap < tile, got tile={tile} overlap={overlap}")
        self.tile, self.overlap = tile, overlap
        self.net: Optional[MLSM] = None
        self.config: Optional[ModelConfig] = None
        self.load_weights(weights or DEFAULT_WEIGHTS)

    def load_weights(self, path: "str | Path") -> None:
        """Rebuild the model from the checkpoint's config and load its state dict strictly."""
        path = Path(path)
        if not path.is_file():
            raise MissingWeightsError(f"mlsm: weights file {path} does not exist (train one with "
                                      f"`facebench train-enhancer mlsm` and pass --weights OUT/mlsm.pt)")
        checkpoint = load_checkpoint(path)
        if not isinstance(checkpoint, dict) or "model" not in checkpoint or "config" not in checkpoint.get("metadata", {}):
            raise ValueError(f"{path}: not an MLSM checkpoint (expected {{'model', 'metadata': {{'config'}}}})")
        config = ModelConfig.from_dict(checkpoint["metadata"]["config"])
        net = MLSM(config)
        try:
            net.load_state_dict(checkpoint["model"], strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{path}: state dict does not match its config ({str(exc).splitlines()[0]})") from None
        # channels-last: oneDNN's convolutions skip a layout reorder per layer (1.3x on this CPU, benchmarks/README.md)
        self.net, self.config = net.to(self.device, memory_format=torch.channels_last).eval(), config
        source = "shipped with facebench" if path.resolve() == DEFAULT_WEIGHTS else "user file"
        self.weights = describe(path, source=source)

    def settings(self) -> Dict[str, Any]:
        return {"model": self.config.as_dict(), "tile": self.tile, "overlap": self.overlap}

    @torch.no_grad()
    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        """images Tensor[B, 3, H, W] float RGB in [0, 1], any H, W -> same shape in [0, 1]."""
        images = images.to(self.device).float().clamp(0, 1).contiguous(memory_format=torch.channels_last)
        amp = torch.autocast("cuda", dtype=torch.float16) if self.device.type == "cuda" else nullcontext()
        with amp:
            out = enhance_tiled(self.net, images, self.tile, self.overlap)
        return out.float().contiguous()
