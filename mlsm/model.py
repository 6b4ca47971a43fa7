"""The MLSM model (Eq. 19: n~ = D_N o {M_i} o E_C(c)) and the no-mapping encoder-decoder ablation.

Images are Tensor[B, 3, H, W] float32 RGB in [0, 1] with H and W multiples of `config.multiple`
(`facebench.mlsm.inference` pads any size). Inference uses the latent means (no sampling).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from facebench.mlsm.config import ModelConfig
from facebench.mlsm.dark_curve import dark_curve
from facebench.mlsm.mapping import MultiLevelMapping
from facebench.mlsm.refine import RefineHead
from facebench.mlsm.vae import MultiLevelVAE


class MLSM(nn.Module):
    """Holds VAE_C (`vae_dark`), VAE_N (`vae_normal`) and the mapping networks (`mapping`).

    With `config.no_mapping` only `vae_dark` exists and is used as a deterministic image-to-image
    encoder-decoder (Table V's "without latent mapping"). With `config.refine_width` a `refine` head
    fuses D_N's output with the input (our extension, `facebench.mlsm.refine`).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.vae_dark = MultiLevelVAE(config)
        if not config.no_mapping:
            self.vae_normal = MultiLevelVAE(config)
            self.mapping = MultiLevelMapping(config)
        if config.refine_width:
            self.refine = RefineHead(config.refine_width, context=config.refine_context)

    def dark_curve(self, dark: torch.Tensor) -> torch.Tensor:
        """What VAE_C sees of a dark image: `config.dark_curve_eps`'s tone curve (identity for 0)."""
        return dark_curve(dark, self.config.dark_curve_eps)

    def map_latents(self, dark: torch.Tensor):
        """E_C means then {M_i}: dark [B, 3, H, W] -> (mapped latents, dark latent means), level 0 first."""
        _, codes = self.vae_dark.encode(self.dark_curve(dark), sample=False)
        return self.mapping(codes), codes

    def forward(self, dark: torch.Tensor) -> torch.Tensor:
        """Enhance: dark Tensor[B, 3, H, W] in [0, 1] -> Tensor[B, 3, H, W] in [0, 1]."""
        if self.config.no_mapping:
            return self.vae_dark(self.dark_curve(dark), sample=False)[0]
        mapped, _ = self.map_latents(dark)
        decoded = self.vae_normal.decode(mapped, dark.shape[-2:])
        return self.refine(dark, decoded) if self.config.refine_width else decoded
