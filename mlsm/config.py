"""Frozen configuration of the MLSM model and of its training losses.

Every choice the paper leaves open is a field here; the model config is stored in every checkpoint
(`dataclasses.asdict`) and rebuilt from it with `ModelConfig.from_dict`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of MLSM (both VAEs share it) and of the no-mapping ablation.

    Attributes:
        levels: k, the number of latent levels (1..4); the paper uses 3.
        width: channels inside the VAE sub-encoders / sub-decoders.
        latent_channels: channels of every latent l^i (mean and log-variance each).
        stem_downsample: stride-2 convs before l^0, so l^0 has 1/2**stem_downsample of the image size
            (the paper does not say; 2 keeps the mapping networks affordable on a CPU).
        encoder_convs: 3x3 conv + InstanceNorm + ReLU units per sub-encoder.
        decoder_convs: 3x3 conv + ReLU units per sub-decoder (no norm, so output brightness is free).
        mapping_width: channels inside each latent mapping network M_i.
        mapping_resblocks: ResBlocks after attention at the end of M_i (the paper: 2).
        no_mapping: True builds the "encoder-decoder without latent mapping" of Table V.
    """

    levels: int = 3
    width: int = 32
    latent_channels: int = 16
    stem_downsample: int = 2
    encoder_convs: int = 1
    decoder_convs: int = 1
    mapping_width: int = 32
    mapping_resblocks: int = 2
    no_mapping: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.levels <= 4:
            raise ValueError(f"levels must be 1..4, got {self.levels}")
        for name in ("width", "latent_channels", "mapping_width", "encoder_convs", "decoder_convs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.stem_downsample < 0 or self.mapping_resblocks < 0:
            raise ValueError("stem_downsample and mapping_resblocks must be >= 0")

    @property
    def multiple(self) -> int:
        """Image sides must be a multiple of this: VAE downsamplings plus the 2 of the deblocking UNet."""
        unet = 0 if self.no_mapping else 2
        return 2 ** (self.stem_downsample + self.levels - 1 + unet)

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> "ModelConfig":
        """Rebuild from `as_dict()`; unknown keys are an error (a checkpoint from another version)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown MLSM config keys {sorted(unknown)} (expected a subset of {sorted(known)})")
        return cls(**values)


@dataclass(frozen=True)
class LossConfig:
    """Loss weights (the paper gives none) and the perceptual-loss backend.

    Attributes:
        l1: image L1 (Eq. 12/13; also the no-mapping ablation).
        perceptual: weight of the perceptual term.
        perceptual_kind: 'vgg16' / 'vgg19' (Johnson et al. feature distance, needs ImageNet weights) or
            'ssim' (documented substitute: 1 - differentiable SSIM; opt-in only).
        gan: LSGAN generator term weight.
        kl: weight of sum_i KL(l^i || N(0, I)) (mean over latent elements).
        latent: weight of the mapping stage's latent L1 (Eq. 18).
    """

    l1: float = 1.0
    perceptual: float = 1.0
    perceptual_kind: str = "vgg19"
    gan: float = 0.01
    kl: float = 1e-3
    latent: float = 1.0

    def __post_init__(self) -> None:
        if self.perceptual_kind not in ("vgg16", "vgg19", "ssim"):
            raise ValueError(f"perceptual_kind must be vgg16, vgg19 or ssim, got {self.perceptual_kind!r}")
