"""The three operations of MR-VAE's TensorFlow graph whose PyTorch defaults differ from TF 1 / slim.

- `tf_resize_bilinear`: `tf.image.resize_images` default (bilinear, align_corners=False, legacy
  half_pixel_centers=False): source coordinate = dst * in / out, no half-pixel offset. For x2 this is
  out[2k] = in[k], out[2k+1] = (in[k] + in[min(k+1, n-1)]) / 2, which neither
  `F.interpolate(..., align_corners=False)` nor `align_corners=True` computes.
- `TFBatchNorm`: slim.batch_norm as the authors run it: always normalised with the statistics of the
  batch it is given (per channel over N, H, W; biased variance; eps 1e-3), `beta` only (scale=False).
  The moving averages (decay 0.999) are updated in training mode and never used for outputs. Under
  torchrun the trainer sets `synchronized`, and the statistics are those of every rank's batch together.
- `TFPReLU`: relu(x) + alpha * (x - |x|) / 2 per channel (= PReLU), slope variable `alpha` starting at 0.

Tensors are NCHW float32 here (the TF graph is NHWC).
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


def _legacy_axis(size_in: int, size_out: int, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(low index, high index, weight of high) along one axis: src = dst * in / out, clamped high index."""
    src = torch.arange(size_out, device=device, dtype=torch.float32) * (size_in / size_out)
    low = src.floor().long().clamp(max=size_in - 1)
    high = (low + 1).clamp(max=size_in - 1)
    return low, high, src - low.float()


def tf_resize_bilinear(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """TF 1 `resize_images(x, size)` default bilinear (align_corners=False, no half-pixel centres).

    Args:
        x: Tensor[N, C, H, W] float.
        size: (out_h, out_w).

    Returns:
        Tensor[N, C, out_h, out_w]: top/bottom rows interpolated along W, then blended along H, as TF does.
    """
    y0, y1, wy = _legacy_axis(x.shape[-2], size[0], x.device)
    x0, x1, wx = _legacy_axis(x.shape[-1], size[1], x.device)
    top, bottom = x[..., y0, :], x[..., y1, :]
    top = top[..., x0] + (top[..., x1] - top[..., x0]) * wx
    bottom = bottom[..., x0] + (bottom[..., x1] - bottom[..., x0]) * wx
    return top + (bottom - top) * wy[:, None]


class _SumOverRanks(torch.autograd.Function):
    """The sum of a tensor over the torchrun ranks, on every rank; its gradient is the sum of the ranks'
    gradients (every rank's loss depends on every rank's input through the sum)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        total = x.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        total = grad.clone()
        dist.all_reduce(total)
        return total


class TFBatchNorm(nn.Module):
    """slim.batch_norm(scale=False) in training mode, as MR-VAE runs it at train and test time.

    Variables (TF names): `beta` (C,), buffers `moving_mean` (C,), `moving_variance` (C,).
    forward: x (Tensor[N, C, H, W]) -> (x - mean) / sqrt(var + 1e-3) + beta, with mean and biased var of
    this batch. In `train()` mode the moving averages are updated (momentum 1 - 0.999); in `eval()` mode
    they are left alone, as the authors' test graph never runs the update ops.
    """

    def __init__(self, channels: int, eps: float = 1e-3, decay: float = 0.999):
        super().__init__()
        self.eps, self.momentum = eps, 1.0 - decay
        self.synchronized = False
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("moving_mean", torch.zeros(channels))
        self.register_buffer("moving_variance", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.synchronized:
            return self._forward_over_ranks(x)
        mean, var = (self.moving_mean, self.moving_variance) if self.training else (None, None)
        return F.batch_norm(x, mean, var, None, self.beta, training=True, momentum=self.momentum, eps=self.eps)

    def _forward_over_ranks(self, x: torch.Tensor) -> torch.Tensor:
        """forward with the mean and variance of the union of all ranks' batches (all-reduced with gradients,
        so every rank back-propagates through the shared statistics, as one process on the union batch)."""
        channels = x.shape[1]
        count = torch.full((1,), x.numel() / channels, dtype=x.dtype, device=x.device)
        sums = _SumOverRanks.apply(torch.cat([x.sum((0, 2, 3)), count]))
        n = sums[channels]
        mean = sums[:channels] / n
        centred = x - mean[None, :, None, None]
        var = _SumOverRanks.apply(centred.square().sum((0, 2, 3))) / n
        if self.training:
            with torch.no_grad():
                self.moving_mean.lerp_(mean, self.momentum)
                self.moving_variance.lerp_(var * n / (n - 1), self.momentum)
        return centred * torch.rsqrt(var + self.eps)[None, :, None, None] + self.beta[None, :, None, None]


class TFPReLU(nn.Module):
    """Per-channel PReLU with TF variable `alpha` (C,), initialised to 0 (the authors' `prelu_tf`).

    forward: x (Tensor[N, C, H, W]) -> max(x, 0) + alpha * min(x, 0), same shape.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.prelu(x, self.alpha)
