"""NeRCo's dual closed-loop losses (the authors' NeRCo_model.py), as named, already weighted terms.

GAN(D(x), t) is least squares: mean((D(x) - t)^2). With A, B the low/normal-light batches and the loop's
outputs (gan.py), lambda = `cycle` (10), the generator terms (their sum is the generator loss) are:
    G_A        GAN(D_A(fake_B), 1)                      G_A_edge  0.5 GAN(D_A_edge(fake_B), 1)
    G_B        GAN(D_B(fake_A), 1) + GAN(D_B(pre_A), 1)  G_B_edge  0.5 GAN(D_B_edge(fake_A), 1)
    cycle_A    lambda L1(rec_A, A)                      cycle_B   lambda L1(rec_B, B)
    idt_A      0.5 lambda L1(G_A(cat(B, B)), B)         idt_B     0.5 lambda L1(G_B(A), A)
    pre_consis 4 lambda L1(pre_A, A) + GAN(D_B(pre_A), 1)
    H          0.5 [L1(fake_B, A + H) + L1(B, G_A(cat(B - H, B - H))) + GAN(D_A(A + H), 1)
                    + GAN(D_B(B - H), 1) + L1(H, fake_B - A) + L1(fake_A, B - netH(fake_A)[0])]
    text_A     0.5 [T(fake_B, high) + T(rec_B, high)]   text_B    0.5 [T(fake_A, low) + T(rec_A, low)]
where T is the CLIP text prior (text_prior.py); the text terms exist only when a prior is given. The edge
generator terms feed the images themselves to the edge discriminators, as the authors' code does.
Discriminator terms, 0.5 [GAN(D(real), 1) + GAN(D(pool(fake)), 0)] each:
    D_A: B vs fake_B;  D_B: A vs fake_A plus A vs pre_A;  D_A_edge: edge(B) vs edge(fake_B);
    D_B_edge: edge(A) vs edge(fake_A)      (edge maps: edges.py; pools: pool.py)

Tensors: images Tensor[N, 3, h, w] in [-1, 1]; every returned term is a scalar Tensor.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from facebench.enhancers.nerco.edges import edge_map
from facebench.enhancers.nerco.gan import NeRCoGAN
from facebench.enhancers.nerco.pool import ImagePool
from facebench.enhancers.nerco.text_prior import HIGH, LOW, TextPrior

POOLS = ("fake_B", "fake_A", "pre_A", "fake_B_edge", "fake_A_edge")


@dataclass(frozen=True)
class LossWeights:
    """The paper's weights. cycle: lambda_A = lambda_B. identity, pre_consistency: multiples of cycle."""

    cycle: float = 10.0
    identity: float = 0.5
    pre_consistency: float = 4.0
    edge: float = 0.5
    h: float = 0.5
    text: float = 0.5


def lsgan(prediction: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss: mean((prediction - 1)^2) for real, mean(prediction^2) for fake."""
    return F.mse_loss(prediction, torch.full_like(prediction, 1.0 if real else 0.0))


def generator_losses(gan: NeRCoGAN, out: Mapping[str, torch.Tensor], real_a: torch.Tensor, real_b: torch.Tensor,
                     weights: LossWeights = LossWeights(),
                     text_prior: Optional[TextPrior] = None) -> Dict[str, torch.Tensor]:
    """The generator terms of the module docstring for the loop outputs `out` (gan(real_a, real_b))."""
    net, w, lam = gan.net, weights, weights.cycle
    fake_b, fake_a, pre_a, h = out["fake_B"], out["fake_A"], out["pre_A"], out["H"]
    d_b_pre = lsgan(gan.D_B(pre_a), True)
    terms = {
        "G_A": lsgan(gan.D_A(fake_b), True),
        "G_B": lsgan(gan.D_B(fake_a), True) + d_b_pre,
        "G_A_edge": w.edge * lsgan(gan.D_A_edge(fake_b), True),
        "G_B_edge": w.edge * lsgan(gan.D_B_edge(fake_a), True),
        "cycle_A": lam * F.l1_loss(out["rec_A"], real_a),
        "cycle_B": lam * F.l1_loss(out["rec_B"], real_b),
        "idt_A": w.identity * lam * F.l1_loss(net.G_A(torch.cat([real_b, real_b], dim=1)), real_b),
        "idt_B": w.identity * lam * F.l1_loss(gan.G_B(real_a), real_a),
        "pre_consis": w.pre_consistency * lam * F.l1_loss(pre_a, real_a) + d_b_pre,
        "H": w.h * _extractor_loss(gan, out, real_a, real_b),
    }
    if text_prior is not None:
        terms["text_A"] = w.text * (text_prior.loss(fake_b, HIGH) + text_prior.loss(out["rec_B"], HIGH))
        terms["text_B"] = w.text * (text_prior.loss(fake_a, LOW) + text_prior.loss(out["rec_A"], LOW))
    return terms


def _extractor_loss(gan: NeRCoGAN, out: Mapping[str, torch.Tensor], real_a: torch.Tensor,
                    real_b: torch.Tensor) -> torch.Tensor:
    """The unweighted netH loss (bypass, adversarial and self-consistency parts of the docstring's H term)."""
    net, h, fake_b, fake_a = gan.net, out["H"], out["fake_B"], out["fake_A"]
    b_minus_h = real_b - h
    bypass = F.l1_loss(fake_b, real_a + h) + F.l1_loss(real_b, net.G_A(torch.cat([b_minus_h, b_minus_h], dim=1)))
    adversarial = lsgan(gan.D_A(real_a + h), True) + lsgan(gan.D_B(b_minus_h), True)
    h_of_fake_a, _ = net.H(fake_a)
    consistency = F.l1_loss(h, fake_b - real_a) + F.l1_loss(fake_a, real_b - h_of_fake_a)
    return bypass + adversarial + consistency


def _discriminator_term(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (lsgan(d(real), True) + lsgan(d(fake.detach()), False))


def discriminator_losses(gan: NeRCoGAN, out: Mapping[str, torch.Tensor], real_a: torch.Tensor,
                         real_b: torch.Tensor, pools: Mapping[str, ImagePool]) -> Dict[str, torch.Tensor]:
    """D_A, D_B, D_A_edge, D_B_edge terms (module docstring); `pools` has the keys of POOLS.

    Pools and edge maps are drawn in the authors' order (D_A, D_B, D_A_edge, D_B_edge).
    """
    terms = {"D_A": _discriminator_term(gan.D_A, real_b, pools["fake_B"].query(out["fake_B"]))}
    terms["D_B"] = (_discriminator_term(gan.D_B, real_a, pools["fake_A"].query(out["fake_A"]))
                    + _discriminator_term(gan.D_B, real_a, pools["pre_A"].query(out["pre_A"])))
    with torch.no_grad():
        fake_b_edge = pools["fake_B_edge"].query(edge_map(out["fake_B"]))
        real_b_edge = edge_map(real_b)
    terms["D_A_edge"] = _discriminator_term(gan.D_A_edge, real_b_edge, fake_b_edge)
    with torch.no_grad():
        fake_a_edge = pools["fake_A_edge"].query(edge_map(out["fake_A"]))
        real_a_edge = edge_map(real_a)
    terms["D_B_edge"] = _discriminator_term(gan.D_B_edge, real_a_edge, fake_a_edge)
    return terms
