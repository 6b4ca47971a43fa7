"""The `lightendiffusion` enhancer plugin: the authors' test-time procedure around LightenDiffusionNet.

Per image (models/restoration.py of the authors): reflect-pad right/bottom to a multiple of 64 (the
latent is H/8 and the denoiser halves it three more times), run the network, crop back to H x W; the
output is clamped to [0, 1] (what the authors' `save_image` does before writing 8-bit files).

Seeded sampling: the authors draw x_T with an unseeded `torch.randn`. Here x_T is drawn on the CPU from a
generator seeded with `seed` (a setting, so part of the identity and cache key), separately for every image:
an image's output depends only on the image, the weights, `seed` and `steps`, not on its batch or device.
Images run one at a time (peak memory of one frame; see `max_megapixels`).

Weights (`variant`): `cpu` = the project's small CPU model (enhancers/weights/lightendiffusion_cpu.pt, see
MODEL_CARD.md), `authors` = `$FACEBENCH_HOME/lightendiffusion/stage2_weight.pth.tar`; any stage-2 file with
`--weights`. `clip_x0` defaults to off for the authors' file (their sampler, which the conformance check
reproduces) and on for weights trained by facebench (chosen on development data, see MODEL_CARD.md).

Tensors: images [B, 3, H, W] float32 RGB in [0, 1]; any H, W >= 1.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch
import torch.nn.functional as F

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.lightendiffusion.architecture import DEFAULT_STEPS
from facebench.enhancers.lightendiffusion.model import sampling_size
from facebench.enhancers.lightendiffusion.weights import (AUTHORS_FILE, AUTHORS_SOURCE, ORIGIN, SHIPPED_SOURCE,
                                                           SHIPPED_WEIGHTS, read_net)
from facebench.plugin_api import Enhancer
from facebench.weights import MissingWeightsError, describe, require_user_weights

VARIANTS = ("cpu", "authors")


@dataclass(frozen=True)
class LightenDiffusionSettings:
    """seed: seed of the initial DDIM state x_T. steps: DDIM steps (authors: 20). clip_x0: clamp each
    predicted x0 to [-1, 1] (not the authors' sampler). sample_side: cap on the long side of the latent DDIM
    runs at, in latent pixels (0 = the full latent, the authors'). max_megapixels: largest frame accepted
    (after padding), a memory guard; does not change outputs."""

    seed: int = 0
    steps: int = DEFAULT_STEPS
    clip_x0: bool = False
    sample_side: int = 0
    max_megapixels: float = 4.0


def pad_to_multiple(images: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad [B, C, H, W] at the right/bottom to multiples of `multiple`: reflect (as the authors) when the
    padding is shorter than the side, else replicate (reflection needs pad < side; tiny images only)."""
    for axis in (-1, -2):
        size = images.shape[axis]
        pad = -size % multiple
        if pad:
            spec = (0, pad, 0, 0) if axis == -1 else (0, 0, 0, pad)
            images = F.pad(images, spec, mode="reflect" if pad < size else "replicate")
    return images


class LightenDiffusion(Enhancer):
    """`lightendiffusion`: LightenDiffusion with the weights trained here (default), the authors' stage-2
    weights or any stage-2 file.

    Args:
        weights: a weights file (authors' `stage2_weight.pth.tar`, or the output of `facebench
            train-enhancer lightendiffusion stage2`); default by `variant`.
        variant: 'cpu' (shipped, trained by this project) or 'authors'
            (`$FACEBENCH_HOME/lightendiffusion/stage2_weight.pth.tar`).
        seed: seed of the initial noise x_T (same noise for every image of a given padded size).
        steps: DDIM steps (the authors': 20).
        clip_x0: clamp every predicted x0 to [-1, 1] during sampling (an extension beyond the authors'
            sampler, which does not clip); None: off for the authors' weights, on for facebench-trained ones.
        sample_side: run DDIM on the latent area-downscaled so its long side is at most this many latent
            pixels (1/8 of the image's), then upscale the sample bilinearly before decoding; 0 = the full
            latent (the authors' procedure). An extension: the shipped denoiser was trained on 16 x 16 latents.
        max_megapixels: refuse frames larger than this after padding (4.0; a 1080 x 720 frame pads to
            1088 x 768 = 0.84 MP).
    """

    name = "lightendiffusion"
    meta = BUILTIN_ENHANCERS["lightendiffusion"].meta

    def __init__(self, weights: Optional[str] = None, variant: str = "cpu", seed: int = 0,
                 steps: int = DEFAULT_STEPS, clip_x0: Optional[bool] = None, sample_side: int = 0,
                 max_megapixels: float = 4.0):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"lightendiffusion: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        if not 1 <= int(steps) <= 1000:
            raise ValueError(f"lightendiffusion: steps must be in 1..1000, got {steps}")
        if clip_x0 is not None and not isinstance(clip_x0, bool):
            raise ValueError(f"lightendiffusion: clip_x0 must be true, false or null, got {clip_x0!r}")
        if isinstance(sample_side, bool) or not isinstance(sample_side, int) or sample_side < 0 or sample_side % 8:
            raise ValueError(f"lightendiffusion: sample_side must be 0 or a positive multiple of 8 (latent pixels), "
                             f"got {sample_side!r}")
        path, shipped = self._weights_path(weights, variant)
        self.net, source, self.training_metadata = read_net(path)
        if clip_x0 is None:
            clip_x0 = source != AUTHORS_SOURCE
        self.config = LightenDiffusionSettings(int(seed), int(steps), clip_x0, sample_side, float(max_megapixels))
        self.weights = describe(path, source=SHIPPED_SOURCE if shipped else source)

    def _weights_path(self, explicit: Optional[str], variant: str):
        """(path, is the shipped file): `explicit`, else the variant's default; one-line error if missing."""
        if explicit or variant == "authors":
            return require_user_weights(self.name, AUTHORS_FILE, ORIGIN, explicit=explicit), False
        if not SHIPPED_WEIGHTS.is_file():
            raise MissingWeightsError(f"lightendiffusion: the shipped CPU weights {SHIPPED_WEIGHTS} are missing from "
                                      f"the package: reinstall facebench, train them with `facebench train-enhancer "
                                      f"lightendiffusion`, or use variant 'authors' / --weights PATH with {ORIGIN}")
        return SHIPPED_WEIGHTS, True

    def settings(self) -> Dict[str, Any]:
        """seed, steps, clip_x0 and the network sizes (max_megapixels does not change outputs, so it is left
        out)."""
        return {"seed": self.config.seed, "steps": self.config.steps, "clip_x0": self.config.clip_x0,
                "sample_side": self.config.sample_side, "architecture": dataclasses.asdict(self.net.architecture)}

    def initial_noise(self, height: int, width: int) -> torch.Tensor:
        """x_T for a padded image of height x width: Tensor[1, 3, h, w] ~ N(0, 1), from `seed`; (h, w) is the
        latent (height/8, width/8) capped at `sample_side` (`model.sampling_size`)."""
        generator = torch.Generator().manual_seed(self.config.seed)
        size = sampling_size(height // 8, width // 8, self.config.sample_side)
        return torch.randn((1, 3, *size), generator=generator).to(self.device)

    def _check_size(self, height: int, width: int) -> None:
        megapixels = height * width / 1e6
        if megapixels > self.config.max_megapixels:
            raise ValueError(f"lightendiffusion: a {width}x{height} frame (padded) is {megapixels:.2f} MP, above "
                             f"max_megapixels={self.config.max_megapixels} (peak memory grows with the frame; "
                             f"downscale the images or raise it with --enhancer-opt max_megapixels=...)")

    @torch.no_grad()
    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, H, W] float RGB in [0, 1] -> enhanced [B, 3, H, W] in [0, 1]."""
        h, w = images.shape[-2:]
        x = pad_to_multiple(images.to(self.device, torch.float32).clamp(0, 1), self.net.architecture.image_multiple)
        self._check_size(*x.shape[-2:])
        noise = self.initial_noise(*x.shape[-2:])
        out = [self.net.enhance(image[None], noise, self.config.steps, self.config.clip_x0)[..., :h, :w] for image in x]
        return torch.cat(out).clamp(0, 1)
