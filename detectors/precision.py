"""Numeric precision of the VGG detectors (PyramidBox, S3FD): fp32 by default, fp16 mixed precision on request.

"mixed" runs the network under fp16 autocast (CUDA; on the CPU it simulates half precision) except for
the parts that overflow fp16 (max 65504): products and sums of squares of un-normalised activations —
PyramidBox's LFPN fusion multiplies two activations (1e5-5e9 with the conformance weights), L2Norm sums
squares — and the prediction heads, whose logits decide the ranking. Those run in fp32 (`float32`).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn as nn

PRECISIONS = ("fp32", "mixed")


def check_precision(detector: str, precision: str) -> None:
    """ValueError unless `precision` is one of `PRECISIONS`."""
    if precision not in PRECISIONS:
        raise ValueError(f"{detector}: precision {precision!r} not in {PRECISIONS}")


def autocast(device: torch.device, precision: str) -> "contextlib.AbstractContextManager":
    """fp16 autocast on `device` when `precision` is "mixed", else a context that changes nothing."""
    return torch.autocast(device.type, dtype=torch.float16, enabled=precision == "mixed")


@contextlib.contextmanager
def float32(device: torch.device) -> Iterator[None]:
    """Inside: autocast off on `device`; the caller casts its inputs with `.float()` (a no-op in fp32)."""
    with torch.autocast(device.type, enabled=False):
        yield


class Float32(nn.Module):
    """Runs the wrapped module in fp32 inside an autocast region (for networks whose forward we do not own).

    Args:
        module: a module taking one tensor.
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor[...] any float dtype) -> the module's output, float32."""
        with float32(x.device):
            return self.module(x.float())
