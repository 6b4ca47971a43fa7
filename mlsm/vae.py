"""Multi-level VAE (paper Eq. 9-13): k Gaussian latent levels, decoder with skip additions.

Sizes (image H x W, s = stem_downsample): l^i has shape [B, latent_channels, H / 2**(s+i), W / 2**(s+i)].
Encoder (Eq. 9): l^0 = E^0(x), l^i = E^i(down(l^{i-1})), down = stride-2 conv (folded into E^i).
Decoder (Eq. 10): y^{k-2} = up(D^{k-1}(l^{k-1})) + l^{k-2}, y^{i-1} = up(D^i(y^i)) + l^{i-1},
x_hat = D^0(y^0); up = bilinear x2. With `map_levels` m < k (Table VI) the skips below the top m levels
are left out, so those levels only feed the encoder chain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from facebench.mlsm.blocks import conv_unit
from facebench.mlsm.config import ModelConfig


@dataclass
class Latents:
    """Per-level Gaussian posteriors, level 0 first: means/logvars are lists of Tensor[B, C, h_i, w_i]."""

    means: List[torch.Tensor]
    logvars: List[torch.Tensor]

    def kl(self) -> torch.Tensor:
        """sum over levels of KL(N(mu, sigma^2) || N(0, I)), each the mean over its elements (scalar)."""
        return sum(0.5 * (m.pow(2) + lv.exp() - 1.0 - lv).mean() for m, lv in zip(self.means, self.logvars))


def _upsample(x: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class _SubEncoder(nn.Module):
    def __init__(self, c_in: int, cfg: ModelConfig, downsamples: int):
        super().__init__()
        layers = [conv_unit(c_in, cfg.width, cfg.norm)]
        layers += [conv_unit(cfg.width, cfg.width, cfg.norm, stride=2) for _ in range(downsamples)]
        layers += [conv_unit(cfg.width, cfg.width, cfg.norm) for _ in range(cfg.encoder_convs - 1)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(cfg.width, 2 * cfg.latent_channels, 1)

    def forward(self, x):
        mean, logvar = self.head(self.body(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)


class _SubDecoder(nn.Module):
    def __init__(self, c_out: int, cfg: ModelConfig, upsamples: int):
        super().__init__()
        layers = [conv_unit(cfg.latent_channels, cfg.width, "none")]
        layers += [conv_unit(cfg.width, cfg.width, "none") for _ in range(cfg.decoder_convs - 1)]
        self.body = nn.Sequential(*layers)
        self.ups = nn.ModuleList(conv_unit(cfg.width, cfg.width, "none") for _ in range(upsamples))
        self.head = nn.Conv2d(cfg.width, c_out, 3, padding=1)

    def forward(self, x, sizes):
        x = self.body(x)
        for up, size in zip(self.ups, sizes):
            x = up(_upsample(x, size))
        return self.head(x)


class MultiLevelVAE(nn.Module):
    """VAE_C or VAE_N. Images: Tensor[B, 3, H, W] in [0, 1], H and W multiples of 2**(s + k - 1)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoders = nn.ModuleList(
            [_SubEncoder(3, cfg, cfg.stem_downsample)]
            + [_SubEncoder(cfg.latent_channels, cfg, 1) for _ in range(cfg.levels - 1)])
        # D^0 returns to image resolution (stem upsamplings); D^i (i >= 1) outputs a latent-sized map.
        self.decoders = nn.ModuleList(
            [_SubDecoder(3, cfg, cfg.stem_downsample)]
            + [_SubDecoder(cfg.latent_channels, cfg, 0) for _ in range(cfg.levels - 1)])

    def encode(self, x: torch.Tensor, sample: bool) -> tuple:
        """Eq. 9. Returns (Latents, codes): codes are samples when `sample`, else the means."""
        means, logvars, codes = [], [], []
        h = x
        for encoder in self.encoders:
            mean, logvar = encoder(h)
            code = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) if sample else mean
            means.append(mean)
            logvars.append(logvar)
            codes.append(code)
            h = code
        return Latents(means, logvars), codes

    def decode(self, codes: List[torch.Tensor], image_size) -> torch.Tensor:
        """Eq. 10 / 17: codes (level 0 first) -> Tensor[B, 3, H, W] in [0, 1].

        With `map_levels` m < k only the top m codes are decoded: the levels below add no skip, in the VAE
        stages as in the mapping stage, so D_N never depends on a latent that no M_i predicts.
        """
        y = codes[-1]
        for i in range(len(codes) - 1, 0, -1):
            y = _upsample(self.decoders[i](y, ()), codes[i - 1].shape[-2:])
            if i - 1 >= self.cfg.first_mapped_level:
                y = y + codes[i - 1]
        stem_sizes = [tuple(-(-d // 2 ** j) for d in image_size) for j in range(self.cfg.stem_downsample - 1, -1, -1)]
        return torch.sigmoid(self.decoders[0](y, stem_sizes))

    def forward(self, x: torch.Tensor, sample: bool = True):
        """Reconstruction: x Tensor[B, 3, H, W] -> (x_hat Tensor[B, 3, H, W] in [0, 1], Latents)."""
        latents, codes = self.encode(x, sample)
        return self.decode(codes, x.shape[-2:]), latents
