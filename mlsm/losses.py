"""MLSM losses: perceptual (VGG features, or the opt-in SSIM substitute), the opt-in image-gradient L1,
LSGAN with a patch discriminator. KL lives with the latents (`vae.Latents.kl`); L1 terms are plain
`F.l1_loss`.

Images are Tensor[B, 3, H, W] float RGB in [0, 1].
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from facebench.image_quality import ssim_torch

# torchvision's ImageNet checkpoints as they are named in the torch hub cache.
VGG_FILES = {"vgg16": "vgg16-397923af.pth", "vgg19": "vgg19-dcbb9e9d.pth"}
# Johnson et al.'s layers: relu1_2, relu2_2, relu3_3 (vgg16) / relu3_4 (vgg19), relu4_3 / relu4_4.
_VGG_LAYERS = {"vgg16": (3, 8, 15, 22), "vgg19": (3, 8, 17, 26)}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class MissingVGGError(FileNotFoundError):
    """ImageNet VGG weights are needed for the perceptual loss and are not on disk."""


def torch_hub_checkpoints() -> Path:
    """$TORCH_HOME/hub/checkpoints (default ~/.cache/torch/hub/checkpoints)."""
    home = os.environ.get("TORCH_HOME", os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(home).expanduser() / "hub" / "checkpoints"


def find_vgg_weights(kind: str, explicit: Optional[str] = None) -> Path:
    """The VGG weight file: `explicit`, else the torch hub cache; MissingVGGError with one line otherwise."""
    if explicit:
        if not Path(explicit).is_file():
            raise MissingVGGError(f"--vgg-weights {explicit}: file not found")
        return Path(explicit)
    cached = torch_hub_checkpoints() / VGG_FILES[kind]
    if cached.is_file():
        return cached
    raise MissingVGGError(
        f"perceptual loss needs ImageNet {kind} weights: pass --vgg-weights PATH or put {VGG_FILES[kind]} in "
        f"{cached.parent} (facebench never downloads); or opt into the documented substitute with "
        f"--perceptual ssim (1 - SSIM)")


class VGGPerceptual(nn.Module):
    """Johnson et al. perceptual loss: mean L1 between VGG features at 4 ReLU layers (frozen VGG)."""

    def __init__(self, kind: str, weights_path: "str | Path"):
        super().__init__()
        from torchvision.models import vgg16, vgg19

        net = (vgg16 if kind == "vgg16" else vgg19)(weights=None)
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(f"{weights_path}: not torchvision {kind} ImageNet weights ({exc})") from None
        self.layers = _VGG_LAYERS[kind]
        self.features = net.features[: self.layers[-1] + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.cat([x, y]).sub(self.mean).div(self.std)
        loss = x.new_zeros(())
        for index, layer in enumerate(self.features):
            h = layer(h)
            if index in self.layers:
                fx, fy = h.chunk(2)
                loss = loss + F.l1_loss(fx, fy)
        return loss


class SSIMPerceptual(nn.Module):
    """Substitute perceptual loss (opt-in): 1 - SSIM with the MATLAB settings (needs H, W >= 11)."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return 1.0 - ssim_torch(x, y).mean()


def build_perceptual(kind: str, vgg_weights: Optional[str] = None) -> nn.Module:
    """'vgg16' / 'vgg19' (weights from `vgg_weights` or the hub cache, else MissingVGGError), 'ssim', or
    'retinaface' (the shipped face detector's features, `facebench.mlsm.face_losses`)."""
    if kind == "ssim":
        return SSIMPerceptual()
    if kind == "retinaface":
        from facebench.mlsm.face_losses import RetinaFacePerceptual

        return RetinaFacePerceptual()
    return VGGPerceptual(kind, find_vgg_weights(kind, vgg_weights))


def gradient_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean |dx - dy| over the horizontal and vertical neighbour differences of two Tensor[B, C, H, W]
    images: 0 when x and y have the same local detail (edges, texture) whatever their brightness offset."""
    def diffs(images: torch.Tensor):
        return images[..., :, 1:] - images[..., :, :-1], images[..., 1:, :] - images[..., :-1, :]

    (xh, xv), (yh, yv) = diffs(x), diffs(y)
    return 0.5 * (F.l1_loss(xh, yh) + F.l1_loss(xv, yv))


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al.): Tensor[B, 3, H, W] -> Tensor[B, 1, H/8, W/8] realism scores."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.InstanceNorm2d(2 * width, affine=True),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.InstanceNorm2d(4 * width, affine=True),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * width, 1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)


def lsgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN (Mao et al.) generator term: mean (D(fake) - 1)^2 / 2."""
    return 0.5 * (fake_scores - 1).pow(2).mean()


def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator term: mean ((D(real) - 1)^2 + D(fake)^2) / 2."""
    return 0.5 * ((real_scores - 1).pow(2).mean() + fake_scores.pow(2).mean())
