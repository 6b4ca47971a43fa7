"""Training losses of both LightenDiffusion stages; each function returns named, weighted terms.

Stage 2 follows the authors' code (models/ddm.py): with the CTDN frozen, the diffusion target is the
latent Retinex recombination x0 = 2 (R_low * L_high) - 1, the denoiser is trained with the noise MSE at
antithetic timesteps (t, T-1-t), and a full DDIM sample from the low-light condition (with gradients)
is pulled towards R_low * L_low ** 0.2 by the self-constrained consistency loss (weight 0.001).

Stage 1 (encoder/decoder + decomposition) has no code in the authors' repository; the terms below are
this project's reading of the paper (see MODEL_CARD.md), on an unpaired batch and a darker copy of it
(same scenes, less light; data.exposure_variant):
    recon        decoder(feature of I, skips of the darker copy) = I, and decoder(darker feature, darker
                 skips) = darker copy: the decoder takes the light level from the latent feature and the
                 structure from the skips, as at test time (restored feature + skips of the dark input)
    retinex      R * L = F for every latent feature F
    reflectance  R(I) = R(darker copy): reflectance does not depend on the light
    illumination L close to the initial estimate max_c F
    smooth       structure-aware smoothness of L (gradients of L, down-weighted where R has edges)
Only `recon` trains the encoder: the four Retinex terms see the latent features detached, so they train the
decomposition on the features the encoder makes (as if encoder/decoder and decomposition were trained one
after the other). With their gradients reaching the encoder, a constant feature satisfies all four exactly,
and the latent collapsed: after 2,000 steps every image encoded to 0.49 +- 0.001, the decoder lit images from
the skips alone, and decoding a normal-light latent with low-light skips gave 9.2 dB on held-out SICE pairs
(`experiments/lightendiffusion_stage1_check.py`; 14.1 dB after 200 steps with the detached terms).
Tensors: images [B, 3, H, W] in [0, 1]; latents [B, 3, H/8, W/8].
"""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F

from facebench.enhancers.lightendiffusion.config import Stage1Weights
from facebench.enhancers.lightendiffusion.ctdn import CTDN
from facebench.enhancers.lightendiffusion.diffusion import add_noise, ddim_sample
from facebench.enhancers.lightendiffusion.model import LightenDiffusionNet

SCC_GAMMA = 0.2  # exponent of L_low in the self-constrained consistency target


def _gradients(x: torch.Tensor) -> torch.Tensor:
    """|horizontal| + |vertical| forward differences of x [B, 1, h, w], zero at the far border: [B, 1, h, w]."""
    dx = F.pad((x[..., :, 1:] - x[..., :, :-1]).abs(), (0, 1, 0, 0))
    dy = F.pad((x[..., 1:, :] - x[..., :-1, :]).abs(), (0, 0, 0, 1))
    return dx + dy


def smoothness(illumination: torch.Tensor, reflectance: torch.Tensor, edge_weight: float = 10.0) -> torch.Tensor:
    """mean(|grad L| * exp(-edge_weight |grad mean_c R|)); L [B, 1 or 3, h, w], R [B, 3, h, w] -> scalar."""
    return (_gradients(illumination[:, :1]) * torch.exp(-edge_weight * _gradients(reflectance.mean(1, keepdim=True)))
            ).mean()


def stage1_losses(ctdn: CTDN, images: torch.Tensor, darker: torch.Tensor,
                  weights: Stage1Weights = Stage1Weights()) -> Dict[str, torch.Tensor]:
    """Weighted stage-1 terms for images [B, 3, H, W] and their darker copies (same shape), both in [0, 1]."""
    feature, _ = ctdn.encode(images)
    dark_feature, dark_skips = ctdn.encode(darker)
    recon = (F.l1_loss(ctdn.decode(feature, dark_skips), images)
             + F.l1_loss(ctdn.decode(dark_feature, dark_skips), darker))
    decomposed = [(f, *ctdn.retinex(f)) for f in (feature.detach(), dark_feature.detach())]  # (F, R, L) of both
    return {
        "recon": weights.recon * recon,
        "retinex": weights.retinex * sum(F.l1_loss(r * l, f) for f, r, l in decomposed),
        "reflectance": weights.reflectance * F.l1_loss(decomposed[0][1], decomposed[1][1]),
        "illumination": weights.illumination * sum(F.l1_loss(l[:, :1], f.amax(1, keepdim=True))
                                                   for f, _, l in decomposed),
        "smooth": weights.smooth * sum(smoothness(l, r) for _, r, l in decomposed),
    }


def antithetic_timesteps(n: int, timesteps: int, generator: torch.Generator) -> torch.Tensor:
    """n integer timesteps: t_1..t_ceil(n/2) uniform in [0, timesteps), then timesteps-1-t_i (cut to n)."""
    t = torch.randint(0, timesteps, (n // 2 + 1,), generator=generator)
    return torch.cat([t, timesteps - 1 - t])[:n]


def stage2_losses(net: LightenDiffusionNet, low: torch.Tensor, high: torch.Tensor, generator: torch.Generator,
                  sampling_steps: int = 20, scc_weight: float = 0.001) -> Dict[str, torch.Tensor]:
    """Noise MSE and weighted self-constrained consistency for unpaired low / high [B, 3, H, W] in [0, 1]
    (H, W multiples of net.architecture.image_multiple). Gradients reach only the denoiser. With
    scc_weight 0 the 20-step sample (most of a step's cost) is skipped and "scc" is 0."""
    with torch.no_grad():
        parts = net.decom.decompose(low, high)
    condition = 2 * parts["low_fea"] - 1
    x0 = 2 * (parts["low_R"] * parts["high_L"]) - 1
    beta = net.betas
    t = antithetic_timesteps(x0.shape[0], beta.numel(), generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    predicted = net.Unet(torch.cat([condition, add_noise(x0, noise, t, beta)], dim=1), t.float())
    start = torch.randn(condition.shape, generator=generator).to(x0.device)
    losses = {"noise": F.mse_loss(predicted, noise), "scc": predicted.new_zeros(())}
    if scc_weight:
        restored = torch.clamp((ddim_sample(net.Unet, condition, start, beta, sampling_steps) + 1) / 2, 0, 1)
        target = parts["low_R"] * parts["low_L"] ** SCC_GAMMA
        losses["scc"] = scc_weight * F.l1_loss(restored, target)
    return losses
