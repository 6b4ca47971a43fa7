"""The `nerco` enhancer plugin: NeRCo's test-time model on facebench's [0, 1] RGB tensors.

Pre/post-processing (the authors' `test.py --preprocess none`, unaligned test dataset, `tensor2im`):
    x = 2 * image - 1  (ToTensor + Normalize(0.5, 0.5));
    a side that is not a multiple of 4 is resized to round(side / 4) * 4 (Python rounding; bicubic,
    antialiased; the authors use PIL bicubic), here at least 8 (the trunks need >= 2 pixels at 1/4
    resolution); the output fake_B is mapped back by (y + 1) / 2, resized to the input size when the input
    was resized, and clamped to [0, 1]. (The authors' `tensor2im` truncates to uint8; facebench quantises
    later, by rounding, for every enhancer alike.)
Images run one at a time (InstanceNorm and netH's pools are per image, so results do not depend on the
batch), in one pass: NeRCo's InstanceNorm and global pools see the whole image, so tiles would change the
output. A 1080 x 720 frame with the paper's architecture (~1.1 T multiply-adds) took 54 s of CPU on one
thread and 1.4 GB peak process memory here (MODEL_CARD.md); larger frames cost proportionally more.

Tensors: images Tensor[B, 3, H, W] float32 RGB in [0, 1] -> Tensor[B, 3, H, W] in [0, 1].
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.authors_weights import load_strict
from facebench.enhancers.nerco import weights_io
from facebench.enhancers.nerco.model import NeRCoNet, infer_arch
from facebench.plugin_api import Enhancer

MULTIPLE = 4  # H and W the networks accept are multiples of this ...
MIN_SIDE = 8  # ... and at least this


def network_size(height: int, width: int) -> Tuple[int, int]:
    """The (H, W) an image is run at: each side rounded to a multiple of 4 (authors' rule), at least 8."""
    return tuple(max(MIN_SIDE, int(round(side / MULTIPLE)) * MULTIPLE) for side in (height, width))


def _resize(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Tensor[N, C, h, w] -> Tensor[N, C, *size] (bicubic, antialiased; unchanged when already that size)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True)


@dataclass(frozen=True)
class NeRCoConfig:
    """Settings that change the output besides the weights: the architecture the weights define."""

    ngf: int
    blocks: int
    nrn_hidden: int
    extractor_blocks: int


class NeRCo(Enhancer):
    """`nerco`: NeRCo with the weights this project trained (default), the authors' released weights or
    any facebench-trained checkpoint.

    Args:
        weights: a folder with the authors' latest_net_{G_A,Pre,H}.pth (or one of those files), or a
            nerco.pt from `facebench train-enhancer nerco`; default by `variant`.
        variant: 'cpu' (enhancers/weights/nerco_cpu.pt, trained here; see MODEL_CARD.md) or 'authors'
            (`$FACEBENCH_HOME/nerco/`). The output depends only on the weights, whose sha256 is in the identity.
    """

    name = "nerco"
    meta = BUILTIN_ENHANCERS["nerco"].meta

    def __init__(self, weights: Optional[str] = None, variant: str = "cpu"):
        super().__init__()
        self.load_weights(weights_io.locate(weights, variant))

    def load_weights(self, path: "str | Path") -> None:
        """Build the architecture the weights define and load them strictly (folder or checkpoint)."""
        state, source = weights_io.read_weights(path)
        try:
            arch = infer_arch(state)
        except KeyError as exc:
            raise ValueError(f"{path}: not NeRCo weights (no {exc.args[0]})") from None
        self.net = NeRCoNet(arch)
        load_strict(self.net, state, path)
        self.net.to(self.device).eval()
        self.config = NeRCoConfig(**dataclasses.asdict(arch))
        self.weights = weights_io.weights_info(path, source)

    @torch.no_grad()
    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device, torch.float32).clamp(0, 1)
        return torch.cat([self._enhance_one(image[None]) for image in images]) if len(images) else images.clone()

    def _enhance_one(self, image: torch.Tensor) -> torch.Tensor:
        """image Tensor[1, 3, H, W] in [0, 1] -> Tensor[1, 3, H, W] in [0, 1]."""
        size = tuple(image.shape[-2:])
        x = _resize(image * 2 - 1, network_size(*size))
        out = (self.net(x)["fake_B"] + 1) / 2
        return _resize(out, size).clamp(0, 1)
