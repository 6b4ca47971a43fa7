"""Edge maps fed to NeRCo's edge discriminators (the authors' `sobel.tran`).

    gray = sum_c x_c * (65.738, 129.057, 25.064)_c / 256
    gx, gy = central differences (kernels [-1, 0, 1], zero padding)
    m = sqrt(gx^2 + gy^2 + 1e-6)
    edge = 4 * (w * m + b),   w, b ~ U(-1, 1) per output channel, drawn afresh on every call

The last step is the authors' `gray2RGB`: a 1x1 conv 1->3 built (PyTorch default init: U(-1, 1) for fan-in
1) each time the function runs, so it is random and never trained. Draws come from torch's global RNG
(seeded, and saved with the training state, so a resumed run draws the same).

Tensors: x Tensor[N, 3, H, W] (an image in [-1, 1]) -> Tensor[N, 3, H, W].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

GRAY_WEIGHTS = (65.738 / 256, 129.057 / 256, 25.064 / 256)


def gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Tensor[N, 3, H, W] -> Tensor[N, 1, H, W]: sqrt(gx^2 + gy^2 + 1e-6) of the weighted gray image."""
    gray = (x * x.new_tensor(GRAY_WEIGHTS).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    padded = F.pad(gray, (1, 1, 1, 1))
    gy = padded[:, :, 2:, 1:-1] - padded[:, :, :-2, 1:-1]
    gx = padded[:, :, 1:-1, 2:] - padded[:, :, 1:-1, :-2]
    return torch.sqrt(gx ** 2 + gy ** 2 + 1e-6)


def edge_map(x: torch.Tensor) -> torch.Tensor:
    """The edge discriminators' input: 4 * (random 1x1 conv 1->3)(gradient magnitude), see module docstring."""
    weight = torch.empty(3, 1, 1, 1).uniform_(-1, 1).to(x)
    bias = torch.empty(3).uniform_(-1, 1).to(x)
    return 4 * F.conv2d(gradient_magnitude(x), weight, bias)
