"""S3FD (Zhang et al., ICCV 2017) on face-alignment's implementation (`face_alignment.detection.sfd`).

Dimensions: B images per batch, A anchors of one image (six levels, row-major per map), N detections.

Network: face-alignment's `s3fd` module, input BGR 0..255 minus (104, 117, 123); outputs six (class,
regression) map pairs at strides 4 ... 128. Anchors: one square per cell, side 4 x stride, centre
((x + 0.5) * stride, (y + 0.5) * stride), from the actual map sizes; decoding with variances (0.1, 0.2)
(`facebench.detectors.toolkit`). face-alignment keeps candidates > 0.05, NMS 0.3, then drops scores
<= 0.5; here the final filter is `score_threshold` (0.01 by default: AP needs the low-score tail).
fp32 on every device; `precision="mixed"` runs fp16 autocast with the L2Norm layers and the heads in fp32.

Weights: `weights=PATH`, else `s3fd-619a316812.pth` in `$FACEBENCH_HOME`, else the file face-alignment
caches in `torch.hub.get_dir()/checkpoints` (`$TORCH_HOME/hub/checkpoints`, found without torch).
facebench never downloads it; face-alignment fetches it from `S3FD_URL`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import torch
import torch.nn as nn

from facebench.checkpoint import load_checkpoint
from facebench.detectors import BUILTIN_DETECTORS
from facebench.detectors.precision import PRECISIONS, Float32, autocast
from facebench.detectors.toolkit import (anchor_grid, clip_detections, decode, ints_to_floats, max_pixels_scale,
                                         network_input, select)
from facebench.plugin_api import Detector
from facebench.weights import (MissingWeightsError, describe, facebench_home, find_user_weights,
                               torch_hub_checkpoints)

_WEIGHTS = BUILTIN_DETECTORS["s3fd"].meta.weights  # declared where s3fd is registered
S3FD_FILE, S3FD_URL = _WEIGHTS.file, _WEIGHTS.origin
# Modules of face-alignment's s3fd run in fp32 under "mixed" precision: the L2Norm layers (sums of squares
# of un-normalised activations overflow fp16) and the prediction heads.
_FP32_MODULES = ("conv3_3_norm", "conv4_3_norm", "conv5_3_norm") + tuple(
    f"{source}_mbox_{kind}" for source in ("conv3_3_norm", "conv4_3_norm", "conv5_3_norm", "fc7", "conv6_2",
                                            "conv7_2") for kind in ("conf", "loc"))


def find_s3fd_weights(explicit: Optional[str] = None) -> Path:
    """The S3FD weight file, or MissingWeightsError naming the file, the folders and the URL."""
    if explicit:
        if not Path(explicit).expanduser().is_file():
            raise MissingWeightsError(f"s3fd: weights file {explicit} does not exist")
        return Path(explicit).expanduser()
    hub = torch_hub_checkpoints()
    found = find_user_weights(S3FD_FILE, extra_dirs=[hub])
    if found is None:
        raise MissingWeightsError(
            f"s3fd: weights not found: put {S3FD_FILE} in {hub} (face-alignment's torch hub cache) "
            f"or {facebench_home()}, or pass --detector-weights PATH; face-alignment downloads it from {S3FD_URL}; "
            "facebench never downloads weights")
    return found


@dataclass(frozen=True)
class S3FDConfig:
    """Settings that change the detections (all part of the identity).

    Attributes:
        score_threshold: face probability a detection must exceed (face-alignment: 0.5 after NMS).
        nms_iou: NMS IoU (0.3, as face-alignment).
        scale: fixed resize factor; None = sqrt(max_pixels / (H * W)) (x2.27 for 1080x720 by default,
            the same DARK FACE rule as `pyramidbox`).
        max_pixels: pixel budget of that rule.
        top_k, keep_top_k: candidates per image before NMS, detections after.
        precision: "fp32", or "mixed" (fp16 autocast, L2Norm and heads in fp32; see
            `facebench.detectors.precision`).
    """

    score_threshold: float = 0.01
    nms_iou: float = 0.3
    scale: Optional[float] = None
    max_pixels: float = 2000.0 * 2000.0
    top_k: int = 5000
    keep_top_k: int = 750
    precision: str = "fp32"

    def __post_init__(self):
        ints_to_floats(self, ("scale", "max_pixels", "score_threshold", "nms_iou"))
        bad_scale = self.scale is not None and self.scale <= 0
        if (not 0 <= self.score_threshold < 1 or not 0 < self.nms_iou <= 1 or bad_scale or self.max_pixels <= 0
                or self.top_k < 1 or self.keep_top_k < 1 or self.precision not in PRECISIONS):
            raise ValueError(f"s3fd: bad settings {self}: expected 0 <= score_threshold < 1, 0 < nms_iou <= 1, "
                             "scale > 0 or None, max_pixels > 0, top_k and keep_top_k >= 1, "
                             f"precision in {PRECISIONS}")


def decode_outputs(outputs: List[torch.Tensor]):
    """face-alignment's s3fd outputs [cls1, reg1, ..., cls6, reg6] (cls Tensor[B, 2, H_l, W_l] logits,
    reg Tensor[B, 4, H_l, W_l]) -> scores Tensor[B, A] float32, boxes Tensor[B, A, 4] float32
    (x1, y1, x2, y2) in pixels of the network input."""
    classes, regressions = outputs[0::2], outputs[1::2]
    map_sizes = [tuple(cls.shape[2:]) for cls in classes]
    strides = [2 ** (level + 2) for level in range(len(classes))]
    anchors = anchor_grid(map_sizes, strides, [(4.0 * s,) for s in strides], classes[0].device)
    batch = classes[0].shape[0]
    loc = torch.cat([reg.float().permute(0, 2, 3, 1).reshape(batch, -1, 4) for reg in regressions], 1)
    scores = torch.cat([cls.float().softmax(1)[:, 1].reshape(batch, -1) for cls in classes], 1)
    return scores, decode(loc, anchors)


def s3fd_net(precision: str = "fp32", state_dict: Optional[Dict[str, torch.Tensor]] = None) -> nn.Module:
    """face-alignment's s3fd network in eval mode, loaded with `state_dict` (strict) when given; with
    precision "mixed", its L2Norm layers and heads wrapped to run in fp32 under autocast."""
    from face_alignment.detection.sfd.net_s3fd import s3fd

    net = s3fd()
    if state_dict is not None:
        net.load_state_dict(state_dict, strict=True)
    if precision == "mixed":
        for name in _FP32_MODULES:
            setattr(net, name, Float32(getattr(net, name)))
    return net.eval()


class S3FD(Detector):
    """`s3fd`: S3FD on face-alignment's network and weights.

    Args:
        weights: S3FD state dict path (face-alignment's layout); default: see the module docstring.
        score_threshold, nms_iou, scale, max_pixels, top_k, keep_top_k, precision: see `S3FDConfig`.
    """

    name = "s3fd"
    meta = BUILTIN_DETECTORS["s3fd"].meta

    def __init__(self, weights: Optional[str] = None, **settings):
        super().__init__()
        self.config = S3FDConfig(**settings)
        path = find_s3fd_weights(weights)
        self.net = s3fd_net(self.config.precision, load_checkpoint(path))
        self.weights = describe(path, "user file" if weights else f"face-alignment cache ({S3FD_URL})")

    @torch.no_grad()
    def detect(self, images: torch.Tensor) -> List[torch.Tensor]:
        """Detect faces.

        Args:
            images (Tensor[B, 3, H, W]): float RGB in [0, 1].

        Returns:
            list of B Tensor[N, 5] float32: (x1, y1, x2, y2, score), boxes in pixels of the input image
            (clipped), score = face probability, by decreasing score.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"s3fd: expected images [B, 3, H, W], got {list(images.shape)}")
        height, width = images.shape[2:]
        cfg = self.config
        scale = cfg.scale if cfg.scale is not None else max_pixels_scale(height, width, cfg.max_pixels)
        x = network_input(images.to(self.device), scale, bgr=True)
        with autocast(x.device, cfg.precision):
            outputs = self.net(x)
        scores, boxes = decode_outputs(outputs)
        boxes = boxes * torch.tensor([width / x.shape[3], height / x.shape[2]] * 2, device=boxes.device)
        return [clip_detections(det, height, width)
                for det in select(boxes, scores, cfg.score_threshold, cfg.nms_iou, cfg.top_k, cfg.keep_top_k)]
