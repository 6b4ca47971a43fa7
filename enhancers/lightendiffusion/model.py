"""LightenDiffusionNet: the whole inference network (the authors' `Net` in evaluation mode).

    feature = encoder(x); condition = 2 * feature - 1
    z = DDIM(denoiser, condition, x_T = noise)                 (20 steps, eta 0)
    enhanced = decoder(clamp((z + 1) / 2, 0, 1), skips of x)   (no output activation)

Reduced-size sampling (an extension, off in the authors' procedure): when x_T is smaller than the latent,
the condition is area-downscaled to x_T's size, DDIM runs there, and z is bilinearly upscaled back to the
latent's size before decoding; the decoder's skips still come from the full-size image.

Submodules `Unet` (denoiser) and `decom` (CTDN) carry the authors' names, so `state_dict()` has the keys
of their stage-2 checkpoint without its DataParallel `module.` prefix. The beta schedule is a
non-persistent buffer (the authors' `betas` is a plain attribute, also absent from their files).

Dimensions: images [B, 3, H, W] float RGB (H, W multiples of `architecture.image_multiple`, 64 for FULL);
latents [B, 3, H/8, W/8].
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from facebench.enhancers.lightendiffusion.architecture import DEFAULT_STEPS, FULL, Architecture
from facebench.enhancers.lightendiffusion.ctdn import CTDN
from facebench.enhancers.lightendiffusion.diffusion import betas, ddim_sample
from facebench.enhancers.lightendiffusion.unet import DiffusionUNet

class LightenDiffusionNet(nn.Module):
    """Args: architecture: network sizes (default: the authors')."""

    def __init__(self, architecture: Architecture = FULL):
        super().__init__()
        a = architecture
        self.architecture = a
        self.Unet = DiffusionUNet(a.unet_channels, a.unet_mult, a.unet_res_blocks, a.unet_attention_levels)
        self.decom = CTDN(a.recon_channels, a.retinex_channels, a.heads)
        self.register_buffer("betas", betas(), persistent=False)

    def decompose(self, x6: torch.Tensor) -> Dict[str, torch.Tensor]:
        """x6 = cat(low, high) [B, 6, H, W] in [0, 1] -> CTDN.decompose dict (low/high _fea, _R, _L)."""
        return self.decom.decompose(x6[:, :3], x6[:, 3:])

    def denoise(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x = cat(condition, x_t) [B, 6, h, w], t [B] float -> predicted noise [B, 3, h, w]."""
        return self.Unet(x, t)

    def decode(self, x3: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        """Decoder on `feature` [B, 3, H/8, W/8] with the encoder skips of x3 [B, 3, H, W] -> [B, 3, H, W]."""
        return self.decom.decode(feature, self.decom.encode(x3)[1])

    def sample(self, condition: torch.Tensor, noise: torch.Tensor, steps: int = DEFAULT_STEPS,
               clip_x0: bool = False) -> torch.Tensor:
        """DDIM from x_T = noise given condition (both [B, 3, h, w]) -> final state [B, 3, h, w] in the
        [-1, 1]-normalised latent space (not clamped; `clip_x0`: see `diffusion.ddim_sample`)."""
        return ddim_sample(self.Unet, condition, noise, self.betas, steps, clip_x0)

    def enhance(self, x3: torch.Tensor, noise: torch.Tensor, steps: int = DEFAULT_STEPS,
                clip_x0: bool = False) -> torch.Tensor:
        """Whole inference: low-light x3 [B, 3, H, W] in [0, 1], x_T noise [B, 3, h, w] -> enhanced
        [B, 3, H, W] (no clamp; the caller clamps to [0, 1]). (h, w) = (H/8, W/8) is the authors' procedure;
        smaller (multiples of 8) samples at that size (see the module docstring)."""
        feature, skips = self.decom.encode(x3)
        condition, size = 2 * feature - 1, tuple(feature.shape[-2:])
        if tuple(noise.shape[-2:]) != size:
            condition = F.interpolate(condition, size=tuple(noise.shape[-2:]), mode="area")
        z = self.sample(condition, noise, steps, clip_x0)
        if tuple(z.shape[-2:]) != size:
            z = F.interpolate(z, size=size, mode="bilinear", align_corners=False)
        return self.decom.decode(torch.clamp((z + 1) / 2, 0, 1), skips)


def sampling_size(height: int, width: int, side: int) -> Tuple[int, int]:
    """Latent size DDIM runs at for a latent of height x width (multiples of 8) when its long side is capped
    at `side` (a multiple of 8; 0 = no cap): both sides scaled alike, rounded to multiples of 8, at least 8."""
    if not side or max(height, width) <= side:
        return height, width
    scale = side / max(height, width)
    return tuple(max(8, round(n * scale / 8) * 8) for n in (height, width))
