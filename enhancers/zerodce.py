"""`zerodce`: Zero-DCE (Guo et al., CVPR 2020), the authors' network and released weights.

A 7-layer CNN (DCE-Net) estimates 8 pixel-wise curve maps r_1..r_8 (3 channels each, in [-1, 1]);
the image is brightened by 8 iterations of the light-enhancement curve x <- x + r_n * (x^2 - x).
The curve keeps x in [0, 1] for any r in [-1, 1], so the output needs no renormalisation.

Tensors: images [B, 3, H, W] float32 RGB in [0, 1]; curve maps A [B, 24, H, W] in [-1, 1]
(r_n = A[:, 3(n-1):3n]).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from facebench.checkpoint import CheckpointError, load_checkpoint
from facebench.plugin_api import Enhancer, PluginMeta
from facebench.weights import describe, facebench_home, find_user_weights, require_user_weights

ORIGIN = "https://github.com/Li-Chongyi/Zero-DCE (Zero-DCE_code/snapshots/Epoch99.pth)"
SOURCE = "https://github.com/Li-Chongyi/Zero-DCE (authors' release; CC BY-NC 4.0, research use)"
WEIGHTS_FILE = "zerodce/Epoch99.pth"


def apply_curves(images: torch.Tensor, maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """Iterate the light-enhancement curve x <- x + r * (x^2 - x) once per map r of `maps`.

    Args:
        images: Tensor[B, 3, H, W] in [0, 1].
        maps: curve maps r, each Tensor[B, 3, H, W] in [-1, 1], applied in order.

    Returns:
        Tensor[B, 3, H, W] in [0, 1].
    """
    x = images
    for r in maps:
        x = x + r * (x * x - x)
    return x


def read_state_dict(path: "str | Path", authors_source: str) -> Tuple[Dict[str, torch.Tensor], str]:
    """The state dict in an authors' file (a bare state dict) or a facebench checkpoint ({'model': ...}).

    Loaded with `weights_only=True`: the authors' legacy (non-zip) pickles hold only an OrderedDict of
    tensors, which the restricted unpickler accepts. Subnormal values are flushed to 0 (see
    `flush_denormals`). Returns (state dict, source for WeightsInfo); raises CheckpointError naming
    the file when it is neither.
    """
    checkpoint = load_checkpoint(path)
    ours = isinstance(checkpoint, dict) and isinstance(checkpoint.get("model"), dict)
    state = checkpoint["model"] if ours else checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors (or a checkpoint {{'model': state_dict}})")
    return flush_denormals(state), ("facebench checkpoint" if ours else authors_source)


def flush_denormals(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Set subnormal float values (|v| < 1.2e-38) to 0.

    The authors' Zero-DCE weights hold 19,266 subnormal values (filters decayed to nothing by weight
    decay); x86 CPUs process subnormals ~40x slower (124 s instead of 2.6 s for a 640x480 image here).
    The values are below 1.2e-38, so zeroing them leaves the outputs unchanged at float32 precision
    (the authors' reference output is still matched to 2.4e-4, its float16 rounding).
    """
    flushed = {}
    for key, value in state.items():
        if value.is_floating_point():
            value = torch.where(value.abs() < torch.finfo(value.dtype).tiny, torch.zeros_like(value), value)
        flushed[key] = value
    return flushed


def load_strict(module: nn.Module, state: Dict[str, torch.Tensor], path: "str | Path") -> None:
    """`module.load_state_dict(state, strict=True)` with a one-line error naming the file."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise ValueError(f"{path}: weights do not fit {type(module).__name__} ({detail})") from None


class ZeroDCENet(nn.Module):
    """DCE-Net: 3x3 convs with 32 channels, symmetric skip concatenations, tanh curve head.

    Parameter names match the authors' checkpoint (e_conv1 ... e_conv7), 79,416 parameters.
    """

    def __init__(self, channels: int = 32, iterations: int = 8):
        super().__init__()
        c = channels
        self.e_conv1 = nn.Conv2d(3, c, 3, padding=1)
        self.e_conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.e_conv3 = nn.Conv2d(c, c, 3, padding=1)
        self.e_conv4 = nn.Conv2d(c, c, 3, padding=1)
        self.e_conv5 = nn.Conv2d(2 * c, c, 3, padding=1)
        self.e_conv6 = nn.Conv2d(2 * c, c, 3, padding=1)
        self.e_conv7 = nn.Conv2d(2 * c, 3 * iterations, 3, padding=1)

    def curves(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor[B, 3, H, W] in [0, 1]) -> curve maps A (Tensor[B, 3 * iterations, H, W] in [-1, 1])."""
        x1 = F.relu(self.e_conv1(x))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.e_conv6(torch.cat([x2, x5], 1)))
        return torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x (Tensor[B, 3, H, W] in [0, 1]) -> (enhanced Tensor[B, 3, H, W] in [0, 1], curve maps A)."""
        a = self.curves(x)
        return apply_curves(x, torch.split(a, 3, dim=1)), a


def init_weights(net: nn.Module) -> None:
    """The authors' initialisation for training from scratch: conv weights ~ N(0, 0.02), default biases."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)


def weights_line(filename: str, origin: str) -> str:
    """One line for `facebench list`: 'found: PATH' or 'missing: put FILE in HOME (from ORIGIN)'."""
    found = find_user_weights(filename)
    if found is not None:
        return f"found: {found}"
    return f"missing: put {filename} in {facebench_home()} or pass --weights PATH (from {origin})"


class ZeroDCE(Enhancer):
    """`zerodce`: Zero-DCE with the authors' `Epoch99.pth` (or weights trained by `train-enhancer zerodce`).

    Args:
        weights: path of the weights file; default `$FACEBENCH_HOME/zerodce/Epoch99.pth`.
    """

    name = "zerodce"
    meta = PluginMeta(
        description="Zero-DCE: 8 pixel-wise quadratic curves estimated by a 7-layer CNN (authors' weights)",
        paper="Guo et al., Zero-Reference Deep Curve Estimation for Low-Light Image Enhancement, CVPR 2020",
        weights_hint=f"{WEIGHTS_FILE} from {ORIGIN}",
    )

    def __init__(self, weights: Optional[str] = None):
        super().__init__()
        self.net = ZeroDCENet()
        self.load_weights(require_user_weights(self.name, WEIGHTS_FILE, ORIGIN, explicit=weights))
        self.net.eval()

    def load_weights(self, path: "str | Path") -> None:
        """Load an authors' state dict or a facebench checkpoint strictly; records sha256 and source."""
        state, source = read_state_dict(path, SOURCE)
        load_strict(self.net, state, path)
        self.weights = describe(path, source=source)

    @classmethod
    def weights_status(cls) -> str:
        return weights_line(WEIGHTS_FILE, ORIGIN)

    @torch.no_grad()
    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        enhanced, _ = self.net(images.to(self.device).clamp(0, 1))
        return enhanced.clamp(0, 1)
