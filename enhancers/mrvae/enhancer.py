"""`mrvae`: MR-VAE as a facebench enhancer (the authors' test graph, one image at a time).

Per image: pad to a multiple of 16 (replicate, bottom/right; `resize=0`, the default) or resize to
`resize` x `resize` as the authors' eval script does (512; bicubic with antialiasing, like PIL's
default filter), run encoder -> GR -> DR, and crop (or resize) back to H x W. Each image is its own
batch of one, as in the authors' eval: their BatchNorm always normalises with the statistics of the
batch it sees, so batching images together would make outputs depend on their neighbours. There is
no tiling for the same reason (per-tile statistics and latents would change the result and leave
seams): whole frames run at once, and frames above `max_pixels` are refused with a one-line message.

Sampling: the authors draw a fresh unseeded z ~ N(z_mean, exp(z_log_var)) per run. Here `noise_seed`
None (default) decodes the posterior mean (eps = 0, deterministic); an integer draws eps from a
generator seeded with it for every image (deterministic, batch-independent; part of the identity).

Weights (`variant`): `cpu` = the project's small CPU model (enhancers/weights/mrvae_cpu.pt, trained here
for 6,000 steps; it lowers DARK FACE detection AP, see MODEL_CARD.md), `authors` =
`$FACEBENCH_HOME/mrvae/authors.pt`, a file converted from a TensorFlow checkpoint of the authors' code
(`facebench convert-weights mrvae`; they published none).
Any MR-VAE weights file can be given with `--weights`.

Tensors: images [B, 3, H, W] float32 RGB in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import torch
import torch.nn.functional as F

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.mrvae.model import SIZE_MULTIPLE
from facebench.enhancers.mrvae.weights import load_weights
from facebench.plugin_api import Enhancer
from facebench.weights import MissingWeightsError, describe, facebench_home, find_user_weights

_WEIGHTS = BUILTIN_ENHANCERS["mrvae"].meta.weights.sources  # declared where mrvae is registered
SHIPPED_WEIGHTS = _WEIGHTS["cpu"].path
AUTHORS_FILE, ORIGIN = _WEIGHTS["authors"].file, _WEIGHTS["authors"].origin
TRAIN_HINT = "facebench train-enhancer mrvae --out RUN (then --weights RUN/mrvae.pt)"
VARIANTS = ("cpu", "authors")


@dataclass(frozen=True)
class MRVAESettings:
    """Settings that change the output (stored in the identity with the weights' hash).

    Attributes:
        variant: default weights when no path is given: 'cpu' (shipped) or 'authors' (user file).
        noise_seed: None = posterior mean (eps = 0); an int = eps drawn from this seed per image.
        resize: 0 = native resolution padded to a multiple of 16; N = run at N x N (authors: 512).
    """

    variant: str = "cpu"
    noise_seed: Optional[int] = None
    resize: int = 0


def _missing(variant: str) -> str:
    if variant == "cpu":
        return (f"mrvae: the project's shipped CPU weights {SHIPPED_WEIGHTS} are missing from the package: "
                f"train them with `{TRAIN_HINT}`, or use variant 'authors' / --weights PATH with {ORIGIN}")
    return (f"mrvae: weights not found: put {AUTHORS_FILE} in {facebench_home()} (or set $FACEBENCH_HOME, or pass "
            f"--weights PATH); it is {ORIGIN}; facebench never downloads weights")


class MRVAE(Enhancer):
    """`mrvae`: MR-VAE (multiple-reconstruction VAE) low-light enhancer; output = the DR image.

    Args:
        weights: an MR-VAE weights file (training output or converted TF checkpoint); default by `variant`.
        variant: 'cpu' (project-trained, shipped) or 'authors' ($FACEBENCH_HOME/mrvae/authors.pt).
        noise_seed: None (posterior mean) or the seed of the sampling noise.
        resize: 0 (native resolution) or the square side the authors' protocol resizes to (512).
        max_pixels: larger padded frames are refused (memory: a 1080x720 frame takes ~0.8 GB above the
            model at width 16, ~2.7 GB at width 64).
    """

    name = "mrvae"
    meta = BUILTIN_ENHANCERS["mrvae"].meta

    def __init__(self, weights: Optional[str] = None, variant: str = "cpu", noise_seed: Optional[int] = None,
                 resize: int = 0, max_pixels: int = 4_000_000):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"mrvae: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        if int(resize) < 0 or int(resize) % SIZE_MULTIPLE:
            raise ValueError(f"mrvae: resize must be 0 or a positive multiple of {SIZE_MULTIPLE}, got {resize}")
        self.config = MRVAESettings(variant, None if noise_seed is None else int(noise_seed), int(resize))
        self.max_pixels = int(max_pixels)
        path, source = self._weights_path(weights)
        self.net, self.training_metadata = load_weights(path)
        self.weights = describe(path, source)

    def _weights_path(self, explicit: Optional[str]):
        if explicit:
            path = Path(explicit).expanduser()
            if not path.is_file():
                raise MissingWeightsError(f"mrvae: weights file {explicit} does not exist")
            return path, "user file"
        if self.config.variant == "cpu":
            if not SHIPPED_WEIGHTS.is_file():
                raise MissingWeightsError(_missing("cpu"))
            return SHIPPED_WEIGHTS, "shipped with facebench (trained by this project)"
        found = find_user_weights(AUTHORS_FILE)
        if found is None:
            raise MissingWeightsError(_missing("authors"))
        return found, "converted from a TensorFlow checkpoint of the authors' code"

    def settings(self) -> Dict[str, Any]:
        return {"noise_seed": self.config.noise_seed, "resize": self.config.resize,
                "architecture": {"width": self.net.config.width}}

    def _eps(self, x: torch.Tensor) -> torch.Tensor:
        """eps for input x (Tensor[1, 3, S_h, S_w]): zeros, or N(0, 1) from `noise_seed` (drawn on the CPU)."""
        shape = self.net.latent_shape(x)
        if self.config.noise_seed is None:
            return torch.zeros(shape, device=x.device)
        generator = torch.Generator().manual_seed(self.config.noise_seed)
        return torch.randn(shape, generator=generator).to(x.device)

    def _enhance_one(self, image: torch.Tensor) -> torch.Tensor:
        """image (Tensor[1, 3, H, W] in [0, 1]) -> DR output Tensor[1, 3, H, W] in [0, 1]."""
        h, w = image.shape[-2:]
        side = self.config.resize
        if side:
            x = F.interpolate(image, size=(side, side), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
        else:
            x = F.pad(image, (0, -w % SIZE_MULTIPLE, 0, -h % SIZE_MULTIPLE), mode="replicate")
        if x.shape[-2] * x.shape[-1] > self.max_pixels:
            raise ValueError(f"mrvae: a {w}x{h} frame is larger than max_pixels={self.max_pixels} (memory); "
                             f"use --enhancer-opt resize=512 (the authors' protocol) or raise max_pixels")
        out = self.net(x, self._eps(x))["DR"]
        if side:
            return F.interpolate(out, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
        return out[..., :h, :w]

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        """images (Tensor[B, 3, H, W], float RGB in [0, 1]) -> Tensor[B, 3, H, W] in [0, 1] (one image at a time)."""
        with torch.inference_mode():
            out = [self._enhance_one(image[None]) for image in images.to(self.device).clamp(0, 1)]
        return torch.cat(out).float().clamp(0, 1)
