"""MR-VAE (Jiang, Wu, Zhang, Chinese Journal of Computers 2020): a U-Net VAE (encoder + global
reconstruction GR) followed by an SRResNet-like detail reconstruction DR. Built from the facts in the
spec README (the authors' `model/mrvae_v2_1_2.py`, TensorFlow 1 / slim).

Dimensions (NCHW; S_h, S_w multiples of 16; w = `MRVAEConfig.width`, 64 in the paper):
    x, target, GR, DR      [N, 3, S_h, S_w]                RGB in [0, 1] (GR, DR: sigmoid outputs)
    skips c1..c4           [N, w * 2^k, S_h / 2^k, S_w / 2^k], k = 0..3, ReLU features (>= 0)
    z, z_mean, z_log_var   [N, 16 w, S_h / 16, S_w / 16]   z_mean >= 0 and z_log_var >= 0 (ReLU outputs)

Module and parameter names mirror the TF variable scopes (`encoder/downsampling1/Conv/weights` is
`encoder.downsampling1.Conv.weight`), so converting an authors' checkpoint is a rename plus a kernel
transpose (see `weights.py`). The channel counts of the paper are those of width 64; other widths scale
every channel count by width / 64 (the CPU config of this project uses a smaller width).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from facebench.enhancers.mrvae.layers import TFBatchNorm, TFPReLU, tf_resize_bilinear

SIZE_MULTIPLE = 16  # four 2x2 max-pools
RESIDUAL_BLOCKS = 5


@dataclass(frozen=True)
class MRVAEConfig:
    """Architecture. width: channels of the first encoder level (paper 64; even). Latent = 16 * width."""

    width: int = 64

    def __post_init__(self) -> None:
        if self.width < 2 or self.width % 2:
            raise ValueError(f"MR-VAE width must be an even number >= 2, got {self.width}")

    @property
    def latent(self) -> int:
        return 16 * self.width


def _conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    """slim.conv2d with stride 1, SAME padding and bias (kernel k x k, k odd)."""
    return nn.Conv2d(cin, cout, k, padding=k // 2)


class _EncoderBlock(nn.Module):
    """Two 3x3 conv + ReLU (`Conv`, `Conv_1`): Tensor[N, cin, H, W] -> Tensor[N, cout, H, W] >= 0."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.Conv, self.Conv_1 = _conv(cin, cout), _conv(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.Conv_1(F.relu(self.Conv(x))))


class Encoding(NamedTuple):
    """Encoder outputs: skips [c1, c2, c3, c4] (see module docstring), z_mean, z_log_var."""

    skips: List[torch.Tensor]
    z_mean: torch.Tensor
    z_log_var: torch.Tensor


class Encoder(nn.Module):
    """`encoder/`: four levels (conv, conv, 2x2 max-pool) then the `z_mean` and `z_variance` heads."""

    def __init__(self, width: int):
        super().__init__()
        w = width
        self.downsampling1, self.downsampling2 = _EncoderBlock(3, w), _EncoderBlock(w, 2 * w)
        self.downsampling3, self.downsampling4 = _EncoderBlock(2 * w, 4 * w), _EncoderBlock(4 * w, 8 * w)
        self.z_mean, self.z_variance = _EncoderBlock(8 * w, 16 * w), _EncoderBlock(8 * w, 16 * w)

    def forward(self, x: torch.Tensor) -> Encoding:
        """x (Tensor[N, 3, S_h, S_w] in [0, 1]) -> Encoding."""
        skips = []
        for level in (self.downsampling1, self.downsampling2, self.downsampling3, self.downsampling4):
            x = level(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        return Encoding(skips, self.z_mean(x), self.z_variance(x))


class _DecoderBlock(nn.Module):
    """`upsamplingK` / `de_conv`: [concat skip] -> `{name}_conv1` -> `{name}_conv2` (3x3 + ReLU), then,
    when `cout_up` is given, TF-legacy bilinear x2 and the 3x3 + ReLU conv `{name}_resize`."""

    def __init__(self, name: str, cin: int, cout: int, cout_up: int = 0):
        super().__init__()
        self.name = name
        self.add_module(f"{name}_conv1", _conv(cin, cout))
        self.add_module(f"{name}_conv2", _conv(cout, cout))
        self.resize = cout_up > 0
        if self.resize:
            self.add_module(f"{name}_resize", _conv(cout, cout_up))

    def forward(self, x: torch.Tensor, skip: "torch.Tensor | None" = None) -> torch.Tensor:
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        x = F.relu(getattr(self, f"{self.name}_conv2")(F.relu(getattr(self, f"{self.name}_conv1")(x))))
        if not self.resize:
            return x
        x = tf_resize_bilinear(x, (2 * x.shape[-2], 2 * x.shape[-1]))
        return F.relu(getattr(self, f"{self.name}_resize")(x))


class GlobalReconstruction(nn.Module):
    """`decoder_first/` (GR): z and the skips -> sigmoid image Tensor[N, 3, S_h, S_w] in [0, 1]."""

    def __init__(self, width: int):
        super().__init__()
        w = width
        self.upsampling1 = _DecoderBlock("upsampling1", 16 * w, 16 * w, 8 * w)
        self.upsampling2 = _DecoderBlock("upsampling2", 16 * w, 8 * w, 4 * w)
        self.upsampling3 = _DecoderBlock("upsampling3", 8 * w, 4 * w, 2 * w)
        self.upsampling4 = _DecoderBlock("upsampling4", 4 * w, 2 * w, w)
        self.de_conv = _DecoderBlock("de_conv", 2 * w, w)
        self.Conv = _conv(w, 3, k=1)

    def forward(self, z: torch.Tensor, skips: List[torch.Tensor]) -> torch.Tensor:
        c1, c2, c3, c4 = skips
        x = self.upsampling1(z)
        x = self.upsampling2(x, c4)
        x = self.upsampling3(x, c3)
        x = self.upsampling4(x, c2)
        return torch.sigmoid(self.Conv(self.de_conv(x, c1)))


class _ResidualBlock(nn.Module):
    """`residual_blockK`: Conv -> BatchNorm -> Prelu -> Conv_1 -> BatchNorm_1, plus `shortcut`."""

    def __init__(self, cin: int, width: int):
        super().__init__()
        self.Conv, self.BatchNorm, self.Prelu = _conv(cin, width), TFBatchNorm(width), TFPReLU(width)
        self.Conv_1, self.BatchNorm_1 = _conv(width, width), TFBatchNorm(width)

    def forward(self, x: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
        return shortcut + self.BatchNorm_1(self.Conv_1(self.Prelu(self.BatchNorm(self.Conv(x)))))


class DetailReconstruction(nn.Module):
    """`decoder_second/` (DR): GR and the first skip c1 -> sigmoid image Tensor[N, 3, S_h, S_w] in [0, 1].

    c = cat(GR, c1) (3 + w channels); five residual blocks (the first adds `inputs64`(GR), a 1x1 conv);
    then DR_out64 + PReLU, DR_out67 (1x1 back to 3 + w) + c, DR_out32 + PReLU, DR_out3 (1x1), sigmoid.
    """

    def __init__(self, width: int):
        super().__init__()
        w = width
        self.inputs64 = _conv(3, w, k=1)
        for k in range(1, RESIDUAL_BLOCKS + 1):
            self.add_module(f"residual_block{k}", _ResidualBlock(3 + w if k == 1 else w, w))
        self.DR_out64, self.out64_prelu = _conv(w, w), TFPReLU(w)
        self.DR_out67 = _conv(w, 3 + w, k=1)
        self.DR_out32, self.DR_out32_prelu = _conv(3 + w, w // 2), TFPReLU(w // 2)
        self.DR_out3 = _conv(w // 2, 3, k=1)

    def forward(self, gr: torch.Tensor, c1: torch.Tensor) -> torch.Tensor:
        c = torch.cat([gr, c1], dim=1)
        x = self.residual_block1(c, self.inputs64(gr))
        for k in range(2, RESIDUAL_BLOCKS + 1):
            x = getattr(self, f"residual_block{k}")(x, x)
        x = c + self.DR_out67(self.out64_prelu(self.DR_out64(x)))
        return torch.sigmoid(self.DR_out3(self.DR_out32_prelu(self.DR_out32(x))))


def sample(z_mean: torch.Tensor, z_log_var: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Reparameterisation z = z_mean + eps * exp(z_log_var / 2); all Tensor[N, 16 w, S_h/16, S_w/16]."""
    return z_mean + eps * torch.exp(z_log_var / 2)


class MRVAENet(nn.Module):
    """The whole network (encoder, GR, DR); `forward(x, eps)` is the authors' test graph.

    The encoder is one set of weights, used for both the low-light input and (in training) the target.
    """

    def __init__(self, config: MRVAEConfig = MRVAEConfig()):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config.width)
        self.decoder_first = GlobalReconstruction(config.width)
        self.decoder_second = DetailReconstruction(config.width)

    def latent_shape(self, x: torch.Tensor) -> Tuple[int, int, int, int]:
        """Shape of eps / z for input x (Tensor[N, 3, S_h, S_w]): (N, 16 w, S_h / 16, S_w / 16)."""
        n, _, h, w = x.shape
        if h % SIZE_MULTIPLE or w % SIZE_MULTIPLE:
            raise ValueError(f"MR-VAE input {h}x{w}: height and width must be multiples of {SIZE_MULTIPLE}")
        return n, self.config.latent, h // SIZE_MULTIPLE, w // SIZE_MULTIPLE

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> Dict[str, torch.Tensor]:
        """x (Tensor[N, 3, S_h, S_w] in [0, 1]), eps (Tensor[N, 16 w, S_h/16, S_w/16], standard normal;
        zeros = the posterior mean) -> {"DR", "GR", "z", "z_mean", "z_log_var"} (module docstring)."""
        if tuple(eps.shape) != self.latent_shape(x):
            raise ValueError(f"eps shape {tuple(eps.shape)} != {self.latent_shape(x)} for input {tuple(x.shape)}")
        enc = self.encoder(x)
        z = sample(enc.z_mean, enc.z_log_var, eps)
        gr = self.decoder_first(z, enc.skips)
        dr = self.decoder_second(gr, enc.skips[0])
        return {"DR": dr, "GR": gr, "z": z, "z_mean": enc.z_mean, "z_log_var": enc.z_log_var}


def init_authors(net: MRVAENet) -> None:
    """The authors' initialisers: truncated normal (std 0.01, cut at 2 std) for plain convs, Xavier
    uniform for residual-block convs, zero biases; PReLU alpha and BatchNorm beta start at 0."""
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d):
            if ".residual_block" in name:
                nn.init.xavier_uniform_(module.weight)
            else:
                nn.init.trunc_normal_(module.weight, std=0.01, a=-0.02, b=0.02)
            nn.init.zeros_(module.bias)
