"""The diffusion process of LightenDiffusion: linear beta schedule, forward noising, deterministic DDIM sampling.

Timesteps: T = 1000, betas = linspace(1e-4, 0.02, T) (float64, rounded to float32);
alpha_bar(t) = prod_{s <= t} (1 - beta_s), computed in float32 as cumprod(1 - [0, betas])[t + 1], so that
alpha_bar(-1) = 1 (the state after the last DDIM step is the clean estimate).
DDIM with `steps` steps uses t = T - skip, ..., skip, 0 (skip = T // steps) and eta = 0:
    x0 = (x_t - eps sqrt(1 - a_t)) / sqrt(a_t);  x_next = sqrt(a_next) x0 + sqrt(1 - a_next) eps.
With `clip_x0` (not the authors' sampler, which never clips) x0 is clamped to [-1, 1], the range of every
real latent, and eps is recomputed from the clamped x0 so the step stays on the DDIM trajectory
(the "clip_sample" of DDPM / diffusers' DDIM).

Latent tensors are [B, 3, h, w] in the [-1, 1]-normalised space (2 * feature - 1).
"""
from __future__ import annotations

from typing import Callable, List, Tuple

import numpy as np
import torch

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (cat(cond, x_t) [B, 6, h, w], t [B]) -> eps

TIMESTEPS = 1000


def betas(timesteps: int = TIMESTEPS, start: float = 1e-4, end: float = 0.02) -> torch.Tensor:
    """Linear schedule: Tensor[timesteps] float32."""
    return torch.from_numpy(np.linspace(start, end, timesteps, dtype=np.float64)).float()


def alpha_bar(beta: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """beta [T] float32, t [B] integer timesteps in [-1, T) -> alpha_bar(t) [B, 1, 1, 1] float32."""
    cumulative = (1 - torch.cat([torch.zeros(1, device=beta.device), beta])).cumprod(dim=0)
    return cumulative.index_select(0, t.long() + 1).view(-1, 1, 1, 1)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Forward process q(x_t | x0): sqrt(a_t) x0 + sqrt(1 - a_t) noise; x0, noise [B, 3, h, w], t [B] int."""
    a = alpha_bar(beta, t)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def ddim_schedule(steps: int, timesteps: int = TIMESTEPS) -> List[Tuple[int, int]]:
    """[(t, t_next), ...] from t = timesteps - skip down to (0, -1), skip = timesteps // steps."""
    if not 1 <= steps <= timesteps:
        raise ValueError(f"DDIM steps must be in 1..{timesteps}, got {steps}")
    seq = list(range(0, timesteps, timesteps // steps))
    return list(zip(reversed(seq), reversed([-1] + seq[:-1])))


def ddim_sample(denoiser: Denoiser, condition: torch.Tensor, noise: torch.Tensor, beta: torch.Tensor,
                steps: int = 20, clip_x0: bool = False) -> torch.Tensor:
    """Deterministic DDIM (eta = 0) from x_T = noise, conditioned on `condition`.

    Args:
        denoiser: eps predictor called as denoiser(cat(condition, x_t), t float [B]).
        condition, noise: [B, 3, h, w] (condition in [-1, 1]; noise ~ N(0, 1)).
        beta: the schedule, Tensor[T] float32 on the same device.
        steps: number of denoiser calls (the authors': 20).
        clip_x0: clamp every predicted x0 to [-1, 1] (an extension; the authors' sampler does not).

    Returns:
        The final state x_{-1}, [B, 3, h, w] in the [-1, 1]-normalised space (not clamped; an untrained
        denoiser can leave it far outside).
    """
    x = noise
    n = x.shape[0]
    for t, t_next in ddim_schedule(steps, beta.numel()):
        t_batch = torch.full((n,), float(t), device=x.device)
        a_t = alpha_bar(beta, t_batch)
        a_next = alpha_bar(beta, torch.full((n,), t_next, device=x.device))
        eps = denoiser(torch.cat([condition, x], dim=1), t_batch)
        x0 = (x - eps * (1 - a_t).sqrt()) / a_t.sqrt()
        if clip_x0:
            x0 = x0.clamp(-1, 1)
            eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()
        x = a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps
    return x
