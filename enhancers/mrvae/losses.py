"""MR-VAE's training loss (the authors' `Loss` scope): 10 L2(GR) + L1(DR) + KL + content.

Every term sums over the image / latent height (TF NHWC axis 1 = dim 2 in NCHW here), then averages over
the rest, as the authors' `reduce_mean(reduce_sum(..., axis=1))`; so the terms grow with the crop height.
    gr_l2   = w_gr * mean(sum_h (GR - target)^2)                             GR, target [N, 3, S_h, S_w]
    dr_l1   = w_dr * mean(sum_h |target - DR|)
    kl      = w_kl * mean(-0.5 * sum_h (1 + z_log_var - z_mean^2 - exp(z_log_var)))   [N, 16 w, S_h/16, S_w/16]
    content = w_content * mean(sum_h (z - z_target)^2)   z_target: the target's latent sample (shared encoder)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import torch

_H = 2  # the height dimension of NCHW tensors


@dataclass(frozen=True)
class LossWeights:
    """Weights of the four terms (the paper: 10, 1, 1, 1)."""

    gr_l2: float = 10.0
    dr_l1: float = 1.0
    kl: float = 1.0
    content: float = 1.0


def mrvae_losses(outputs: Dict[str, torch.Tensor], target: torch.Tensor, z_target: torch.Tensor,
                 weights: LossWeights = LossWeights()) -> Dict[str, torch.Tensor]:
    """The weighted loss terms (scalars); their sum is the authors' `vae_loss`.

    Args:
        outputs: MRVAENet outputs for the low-light input ("DR", "GR", "z", "z_mean", "z_log_var").
        target: Tensor[N, 3, S_h, S_w] in [0, 1], the normal-light image.
        z_target: Tensor like outputs["z"], the sampled latent of the target through the same encoder.
    """
    z_mean, z_log_var = outputs["z_mean"], outputs["z_log_var"]
    kl = -0.5 * (1 + z_log_var - z_mean.square() - z_log_var.exp()).sum(_H)
    return {
        "gr_l2": weights.gr_l2 * (outputs["GR"] - target).square().sum(_H).mean(),
        "dr_l1": weights.dr_l1 * (target - outputs["DR"]).abs().sum(_H).mean(),
        "kl": weights.kl * kl.mean(),
        "content": weights.content * (outputs["z"] - z_target).square().sum(_H).mean(),
    }
