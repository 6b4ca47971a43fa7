"""Network sizes of LightenDiffusion: the authors' (`FULL`, configs/unsupervised.yml) and a small CPU one;
the authors' number of DDIM sampling steps. (No torch import: the command line reads this module.)

The sizes are stored in every checkpoint facebench writes (metadata "architecture"), so a weights file
rebuilds its own network; the authors' files have no metadata and use `FULL`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

DEFAULT_STEPS = 20  # the authors' DDIM sampling steps


@dataclass(frozen=True)
class Architecture:
    """Attributes:
        recon_channels: ReconNet width C (pyramid C, 2C, 4C).
        retinex_channels: width of the latent Retinex decomposition branches.
        heads: attention heads of the Retinex decomposition (divides retinex_channels).
        unet_channels: base width of the denoiser (every ch * mult a multiple of 32).
        unet_mult: width factor per denoiser level (the latent must be divisible by 2 ** (levels - 1)).
        unet_res_blocks: ResnetBlocks per denoiser level on the way down.
        unet_attention_levels: denoiser levels with attention.
    """

    recon_channels: int = 64
    retinex_channels: int = 64
    heads: int = 8
    unet_channels: int = 64
    unet_mult: Tuple[int, ...] = (1, 2, 3, 4)
    unet_res_blocks: int = 2
    unet_attention_levels: Tuple[int, ...] = (2,)

    @property
    def image_multiple(self) -> int:
        """Image H and W must be multiples of this (8 for the encoder times the denoiser's downsampling)."""
        return 8 * 2 ** (len(self.unet_mult) - 1)

    @classmethod
    def from_dict(cls, values: dict) -> "Architecture":
        """Inverse of dataclasses.asdict (lists from JSON / checkpoints become tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


FULL = Architecture()
# 4.0 M parameters (16 MB in float32) instead of 27.8 M: half the widths, the two deepest denoiser levels as wide
# as level 1; depth, attention placement and every operation as in FULL.
SMALL = Architecture(recon_channels=32, retinex_channels=32, heads=8, unet_channels=32, unet_mult=(1, 2, 2, 2),
                     unet_res_blocks=2, unet_attention_levels=(2,))
