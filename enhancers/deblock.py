"""`deblock`: a small QF-aware JPEG artifact-removal network (DnCNN-3-style residual CNN, project-trained).

Network (DeblockNet, EDSR-like): the image (shifted to [-0.5, 0.5]) is pixel-unshuffled by r = 4, so
each cell is a 4 x 4 quarter of an 8 x 8 JPEG block (48 channels) and the network works on the block
grid: a QF channel is appended, a 3 x 3 head conv to `width` channels, `blocks` residual blocks
(conv-ReLU-conv + skip), a 3 x 3 tail conv back to 48 channels, pixel shuffle, added to the input
(residual learning, as DnCNN). Working at 1/4 resolution makes it ~10x cheaper than a full-resolution
CNN of the same width; receptive field 21 cells = 84 px. The tail and each block's second conv start at zero, so
training starts from the identity (a plain 9-layer ReLU stack was tried first: Adam killed its last
ReLU layer while silencing the random initial output and it never left the identity).
H / W that are not multiples of 4 are padded at the bottom / right by replication (the JPEG grid starts
at the top-left corner, so it stays aligned) and cropped back.

QF awareness: the extra input channel holds QF / 100 when the quality factor is known and 0 when it is
not. Training shows the network the true QF on most crops and 0 ("blind") on the rest, so one set of
weights serves both. The enhancer runs blind by default (`qf=None`) because an evaluation pipeline
does not tell enhancers the QF, and an image that was enhanced after decoding (chains like
`zerodce+deblock`) has no reliable quantisation trace to estimate it from; pass `qf=90` to condition.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from facebench.checkpoint import CheckpointError, load_checkpoint
from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.plugin_api import Enhancer
from facebench.weights import MissingWeightsError, describe

DEFAULT_WEIGHTS = BUILTIN_ENHANCERS["deblock"].meta.weights.path
_TRAIN_HINT = "facebench train-enhancer deblock --data PHOTOS --out RUN"


@dataclass(frozen=True)
class DeblockNetConfig:
    """Architecture of DeblockNet (stored in every checkpoint).

    Attributes:
        width: feature channels. blocks: residual blocks. unshuffle: pixel-unshuffle factor r (divides 8).
    """

    width: int = 64
    blocks: int = 4
    unshuffle: int = 4


class _ResBlock(nn.Module):
    """x + conv(relu(conv(x))), second conv zero-initialised (the block starts as the identity)."""

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class DeblockNet(nn.Module):
    """Residual JPEG deblocking CNN on the block grid, conditioned on a QF channel.

    forward(x, qf): x (Tensor[B, 3, H, W], float in [0, 1], JPEG-decoded RGB), qf (Tensor[B], float:
    quality factor 1..100, or 0 = unknown) -> Tensor[B, 3, H, W], the restored image (not clamped).
    """

    def __init__(self, config: DeblockNetConfig = DeblockNetConfig()):
        super().__init__()
        if 8 % config.unshuffle:
            raise ValueError(f"DeblockNet: unshuffle must divide 8 (1, 2, 4, 8), got {config.unshuffle}")
        self.config = config
        cells = 3 * config.unshuffle ** 2
        self.head = nn.Conv2d(cells + 1, config.width, 3, padding=1)
        self.blocks = nn.Sequential(*[_ResBlock(config.width) for _ in range(config.blocks)])
        self.tail = nn.Conv2d(config.width, cells, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # the network starts as the identity
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor, qf: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        r = self.config.unshuffle
        padded = F.pad(x - 0.5, (0, -w % r, 0, -h % r), mode="replicate")
        z = F.pixel_unshuffle(padded, r)
        qf_map = (qf.to(z.dtype) / 100.0).view(-1, 1, 1, 1).expand(-1, 1, *z.shape[-2:])
        residual = F.pixel_shuffle(self.tail(self.blocks(self.head(torch.cat([z, qf_map], dim=1)))), r)
        return x + residual[..., :h, :w]


def load_deblock_net(path: "str | Path") -> Tuple["DeblockNet", Dict[str, Any]]:
    """(DeblockNet with the file's weights, metadata dict) from an exported weights file or a training state.

    Raises:
        CheckpointError: unreadable file, or not a deblock checkpoint (the message names the file).
    """
    checkpoint = load_checkpoint(path)
    state = checkpoint.get("model") if "model" in checkpoint else checkpoint.get("modules", {}).get("model")
    metadata = checkpoint.get("metadata") or {}
    arch = metadata.get("architecture") or (metadata.get("config") or {}).get("architecture")  # export / state
    if state is None or not isinstance(arch, dict) or metadata.get("enhancer") != "deblock":
        raise CheckpointError(f"{path}: not a deblock checkpoint (expected 'model' and metadata with "
                              f"enhancer 'deblock' and 'architecture'; made by {_TRAIN_HINT})")
    net = DeblockNet(DeblockNetConfig(**arch))
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit DeblockNet{arch} ({str(exc).splitlines()[0]})") from None
    return net.eval(), metadata


@dataclass(frozen=True)
class DeblockConfig:
    qf: Optional[int] = None  # quality factor told to the network; None = blind


class Deblock(Enhancer):
    """`deblock`: removes JPEG blocking and ringing; keeps H x W; runs on any device.

    Args:
        weights: a weights file from `facebench train-enhancer deblock`; default: the shipped weights.
        qf: the JPEG quality factor of the inputs when known (1..100); None runs blind.
    """

    name = "deblock"
    meta = BUILTIN_ENHANCERS["deblock"].meta

    def __init__(self, weights: Optional[str] = None, qf: Optional[int] = None):
        super().__init__()
        if qf is not None and not 1 <= int(qf) <= 100:
            raise ValueError(f"deblock: qf must be 1..100 or None (blind), got {qf}")
        self.config = DeblockConfig(None if qf is None else int(qf))
        path = Path(weights).expanduser() if weights else DEFAULT_WEIGHTS
        if not path.is_file():
            where = f"weights file {path} does not exist" if weights else \
                f"shipped weights {path} are missing (reinstall facebench, or train them: {_TRAIN_HINT})"
            raise MissingWeightsError(f"deblock: {where}")
        self.net, self.training_metadata = load_deblock_net(path)
        self.weights = describe(path, "shipped with facebench" if not weights else "user file")

    def settings(self) -> Dict[str, Any]:
        return {"qf": self.config.qf, "architecture": dataclasses.asdict(self.net.config)}

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        """images (Tensor[B, 3, H, W], float RGB in [0, 1]) -> deblocked Tensor[B, 3, H, W] in [0, 1]."""
        qf = torch.full((images.shape[0],), float(self.config.qf or 0), device=images.device)
        autocast = torch.autocast("cuda") if images.device.type == "cuda" else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            out = self.net(images, qf)
        return out.float().clamp(0, 1)
