"""Numeric precision of the VGG detectors (PyramidBox, S3FD): fp32 by default, fp16 mixed precision on request.

"mixed" runs the network under fp16 autocast (CUDA; on the CPU it simulates half precision, slowly) except
for the parts that overflow fp16 (max 65504) and the prediction heads, whose logits decide the ranking:
PyramidBox's LFPN (the fusion multiplies two un-normalised activations: 2e5-4e9 with the conformance
weights, and its next top-down convolution reaches 1e7), the L2Norm layers (sums of squares) and the heads
run in fp32 (`float32`, `Float32`). Whatever still overflows, a NaN score never reaches top-k
(`toolkit.select`).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn as nn

PRECISIONS = ("fp32", "mixed")


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
