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
            (the paper: E^0 at full resolution; 1 keeps a 10 px face 5 latent px wide at 0.25 of the
            cost, see benchmarks/README.md).
        encoder_convs: 3x3 conv + InstanceNorm + ReLU units per sub-encoder.
        decoder_convs: 3x3 conv + ReLU units per sub-decoder (no norm, so output brightness is free).
        mapping_width: channels inside each latent mapping network M_i.
        mapping_resblocks: ResBlocks after attention at the end of M_i (the paper: 2).
        map_levels: mapping networks on the top `map_levels` levels only (0 = all, the paper's model);
            both VAEs then decode from those top levels only, the lower ones feeding just the encoder
            chain (Table VI ablations).
        norm: 'none' or 'instance' (the paper's InstanceNorm) in the sub-encoders and ResBlocks.
            InstanceNorm statistics of a training crop are not those of a full frame, so the default
            is 'none' (see `facebench.mlsm.blocks`).
        attention_window: side in image pixels of the sliding region whose mean drives the mapping
            networks' channel attention on maps larger than it (e.g. the training crop); 0 = the whole
            map, CBAM's global pooling (default: it measured better, see `facebench.mlsm.blocks`).
        refine_width: channels of the image-space refinement head after D_N (`facebench.mlsm.refine`,
            our extension; 0 = none, the paper's model).
        refine_context: dilated 3x3 convs (dilations 2, 4, 8, ...) appended to the refinement head's body;
            they widen what it sees from 9x9 px to 9 + 4 (2**refine_context - 1) px (37 px for 3), the
            size of the faces it loses (0 = the plain head).
        no_mapping: True builds the "encoder-decoder without latent mapping" of Table V.
        dark_curve_eps: VAE_C encodes (and reconstructs) log(1 + x / eps) / log(1 + 1 / eps) of the dark
            input x instead of x, lifting dark detail (`facebench.mlsm.dark_curve`; beyond the paper;
            0 = linear, the paper's model).
    """

    levels: int = 3
    width: int = 32
    latent_channels: int = 16
    stem_downsample: int = 1
    encoder_convs: int = 1
    decoder_convs: int = 1
    mapping_width: int = 32
    mapping_resblocks: int = 2
    map_levels: int = 0
    norm: str = "none"
    attention_window: int = 0
    refine_width: int = 0
    refine_context: int = 0
    no_mapping: bool = False
    dark_curve_eps: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.levels <= 4:
            raise ValueError(f"levels must be 1..4, got {self.levels}")
        for name in ("width", "latent_channels", "mapping_width", "encoder_convs", "decoder_convs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.stem_downsample < 0 or self.mapping_resblocks < 0:
            raise ValueError("stem_downsample and mapping_resblocks must be >= 0")
        if not 0 <= self.map_levels <= self.levels:
            raise ValueError(f"map_levels must be 0 (all) .. levels ({self.levels}), got {self.map_levels}")
        if self.attention_window < 0:
            raise ValueError(f"attention_window must be >= 0, got {self.attention_window}")
        if self.refine_width < 0 or (self.refine_width and self.no_mapping):
            raise ValueError(f"refine_width must be >= 0 and needs the mapping model, got {self.refine_width}")
        if self.refine_context < 0 or (self.refine_context and not self.refine_width):
            raise ValueError(f"refine_context must be >= 0 and needs a refinement head (refine_width), "
                             f"got {self.refine_context}")
        if self.dark_curve_eps < 0:
            raise ValueError(f"dark_curve_eps must be >= 0 (0 = linear), got {self.dark_curve_eps}")
        if self.norm not in ("none", "instance"):
            raise ValueError(f"norm must be 'none' or 'instance', got {self.norm!r}")

    @property
    def multiple(self) -> int:
        """Image sides must be a multiple of this: VAE downsamplings plus the 2 of the deblocking UNet."""
        unet = 0 if self.no_mapping else 2
        return 2 ** (self.stem_downsample + self.levels - 1 + unet)

    @property
    def mapped_levels(self) -> int:
        """How many levels, counted from the top, have a mapping network."""
        return self.map_levels or self.levels

    @property
    def first_mapped_level(self) -> int:
        """The lowest level with a mapping network (0 = all mapped); both VAEs decode from here up."""
        return self.levels - self.mapped_levels

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
        perceptual_kind: 'vgg16' / 'vgg19' (Johnson et al. feature distance, needs ImageNet weights),
            'ssim' (substitute: 1 - differentiable SSIM) or 'retinaface' (feature distance in the shipped
            face detector's backbone, `facebench.mlsm.face_losses`).
        gan: LSGAN generator term weight.
        kl: weight of sum_i KL(l^i || N(0, I)) (mean over latent elements).
        latent: weight of the mapping stage's latent L1 (Eq. 18).
        detection: weight of the opt-in detection-aware term in the mapping and refine stages (RetinaFace
            face probabilities on the output vs on the target; beyond the paper; 0 = off).
        face_boxes: weight of the opt-in face-box term in the mapping and refine stages (RetinaFace's own
            training loss on labelled face mosaics, `facebench.mlsm.face_box_loss`; beyond the paper; 0 = off).
        mean_path: weight of the VAE stages' reconstruction from the latent means (L1 + perceptual, on
            top of Eq. 12/13's reconstruction from samples; 0 = the paper's loss). See `mlsm.stages`.
        image_l1: weight of an image L1 |n~ - n|_1 in the mapping stage (not in Eq. 18: our addition,
            0 gives the paper's loss). The mapped latents pass through D_N, so a small latent error can
            be a large image error; this term trains the mapping for the image it finally makes.
        gradient: weight of the image-gradient L1 (`losses.gradient_l1`, output vs target) in the
            image-to-image stages ('mapping', 'refine'); beyond the paper, 0 = off. It asks the output to
            carry the target's local detail, which L1 + SSIM reward little next to tone (measured on real
            dark frames: it smoothed the output and lowered AP; MODEL_CARD.md, phase 8).
    """

    l1: float = 1.0
    perceptual: float = 1.0
    perceptual_kind: str = "vgg19"
    gan: float = 0.01
    kl: float = 1e-3
    latent: float = 1.0
    image_l1: float = 1.0
    mean_path: float = 1.0
    detection: float = 0.0
    face_boxes: float = 0.0
    gradient: float = 0.0

    def __post_init__(self) -> None:
        if self.perceptual_kind not in ("vgg16", "vgg19", "ssim", "retinaface"):
            raise ValueError(f"perceptual_kind must be vgg16, vgg19, ssim or retinaface, got {self.perceptual_kind!r}")
