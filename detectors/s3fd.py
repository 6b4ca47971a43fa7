"""S3FD (Zhang et al., ICCV 2017) on face-alignment's implementation (`face_alignment.detection.sfd`).

Dimensions: B images per batch, A anchors of one image (six levels, row-major per map), N detections.

Network: face-alignment's `s3fd` module, input BGR 0..255 minus (104, 117, 123); outputs six (class,
regression) map pairs at strides 4 ... 128. Anchors: one square per cell, side 4 x stride, centre
(x * stride + stride / 2, y * stride + stride / 2), from the actual map sizes; decoding with variances
(0.1, 0.2). face-alignment keeps candidates > 0.05, NMS 0.3, then drops scores <= 0.5; here the final
filter is `score_threshold` (0.01 by default: AP needs the low-score tail).

Weights: `weights=PATH`, else the file face-alignment caches, `s3fd-619a316812.pth` in
`torch.hub.get_dir()/checkpoints` (i.e. `$TORCH_HOME/hub/checkpoints`), else `$FACEBENCH_HOME`.
facebench never downloads it; face-alignment fetches it from `S3FD_URL`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import torch
import torch.nn.functional as F

from facebench.checkpoint import load_checkpoint
from facebench.detectors.pyramidbox.inference import ints_to_floats, select
from facebench.plugin_api import Detector, PluginMeta
from facebench.weights import MissingWeightsError, describe, facebench_home, find_user_weights

S3FD_FILE = "s3fd-619a316812.pth"
S3FD_URL = "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth"
_BGR_MEAN = (104.0, 117.0, 123.0)
_VARIANCES = (0.1, 0.2)


def hub_checkpoints() -> Path:
    """torch hub's checkpoint folder (`$TORCH_HOME/hub/checkpoints`), where face-alignment caches weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_s3fd_weights(explicit: Optional[str] = None) -> Path:
    """The S3FD weight file, or MissingWeightsError naming the file, the folders and the URL."""
    if explicit:
        if not Path(explicit).expanduser().is_file():
            raise MissingWeightsError(f"s3fd: weights file {explicit} does not exist")
        return Path(explicit).expanduser()
    found = find_user_weights(S3FD_FILE, extra_dirs=[hub_checkpoints()])
    if found is None:
        raise MissingWeightsError(
            f"s3fd: weights not found: put {S3FD_FILE} in {hub_checkpoints()} (face-alignment's torch hub cache) "
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
    """

    score_threshold: float = 0.01
    nms_iou: float = 0.3
    scale: Optional[float] = None
    max_pixels: float = 2000.0 * 2000.0
    top_k: int = 5000
    keep_top_k: int = 750

    def __post_init__(self):
        ints_to_floats(self, ("scale", "max_pixels", "score_threshold", "nms_iou"))
        bad_scale = self.scale is not None and self.scale <= 0
        if (not 0 <= self.score_threshold < 1 or not 0 < self.nms_iou <= 1 or bad_scale
                or self.max_pixels <= 0 or self.top_k < 1 or self.keep_top_k < 1):
            raise ValueError(f"s3fd: bad settings {self}: expected 0 <= score_threshold < 1, 0 < nms_iou <= 1, "
                             "scale > 0 or None, max_pixels > 0, top_k and keep_top_k >= 1")


def _anchors(rows: int, cols: int, stride: int, device: torch.device) -> torch.Tensor:
    """Tensor[rows * cols, 4] (cx, cy, w, h) in pixels of the network input, row-major."""
    cy, cx = torch.meshgrid(torch.arange(rows, device=device) * stride + stride / 2,
                            torch.arange(cols, device=device) * stride + stride / 2, indexing="ij")
    wh = torch.full((rows * cols, 2), 4.0 * stride, device=device)
    return torch.cat((cx.reshape(-1, 1), cy.reshape(-1, 1), wh), 1).float()


def decode_outputs(outputs: List[torch.Tensor]):
    """face-alignment's s3fd outputs [cls1, reg1, ..., cls6, reg6] (cls Tensor[B, 2, H_l, W_l] logits,
    reg Tensor[B, 4, H_l, W_l]) -> scores Tensor[B, A], boxes Tensor[B, A, 4] (x1, y1, x2, y2) in pixels
    of the network input."""
    scores, boxes = [], []
    for level in range(len(outputs) // 2):
        cls, reg = outputs[2 * level].float(), outputs[2 * level + 1].float()
        batch, _, rows, cols = cls.shape
        priors = _anchors(rows, cols, 2 ** (level + 2), cls.device)
        loc = reg.permute(0, 2, 3, 1).reshape(batch, -1, 4)
        centre = priors[:, :2] + loc[..., :2] * _VARIANCES[0] * priors[:, 2:]
        size = priors[:, 2:] * torch.exp(loc[..., 2:] * _VARIANCES[1])
        boxes.append(torch.cat((centre - size / 2, centre + size / 2), -1))
        scores.append(cls.softmax(1)[:, 1].reshape(batch, -1))
    return torch.cat(scores, 1), torch.cat(boxes, 1)


class S3FD(Detector):
    """`s3fd`: S3FD on face-alignment's network and weights.

    Args:
        weights: S3FD state dict path (face-alignment's layout); default: see the module docstring.
        score_threshold, nms_iou, scale, max_pixels, top_k, keep_top_k: see `S3FDConfig`.
    """

    name = "s3fd"
    meta = PluginMeta(description="S3FD VGG16 (WIDER FACE), face-alignment's implementation, PyTorch",
                      paper="Zhang et al., S3FD, ICCV 2017; implementation github.com/1adrianb/face-alignment",
                      weights_hint=f"{S3FD_FILE} in the torch hub cache (face-alignment downloads it from {S3FD_URL})")

    def __init__(self, weights: Optional[str] = None, **settings):
        super().__init__()
        self.config = S3FDConfig(**settings)
        from face_alignment.detection.sfd.net_s3fd import s3fd

        path = find_s3fd_weights(weights)
        self.net = s3fd()
        self.net.load_state_dict(load_checkpoint(path), strict=True)
        self.net.eval()
        self.weights = describe(path, "user file" if weights else f"face-alignment cache ({S3FD_URL})")

    @classmethod
    def weights_status(cls) -> str:
        found = find_user_weights(S3FD_FILE, extra_dirs=[hub_checkpoints()])
        if found:
            return f"found: {found}"
        return f"missing: {S3FD_FILE} (not in {hub_checkpoints()} or {facebench_home()})"

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
        scale = cfg.scale if cfg.scale is not None else math.sqrt(cfg.max_pixels / (height * width))
        x = images.to(self.device).float() * 255.0
        if scale != 1:
            x = F.interpolate(x, size=(max(1, round(height * scale)), max(1, round(width * scale))),
                              mode="bilinear", align_corners=False)
        x = x.flip(1) - torch.tensor(_BGR_MEAN, device=x.device).view(1, 3, 1, 1)
        with torch.autocast("cuda", enabled=x.device.type == "cuda"):
            outputs = self.net(x)
        scores, boxes = decode_outputs(outputs)
        boxes = boxes * torch.tensor([width / x.shape[3], height / x.shape[2]] * 2, device=boxes.device)
        results = []
        for det in select(boxes, scores, cfg):
            det[:, 0:4:2] = det[:, 0:4:2].clamp(0, width)
            det[:, 1:4:2] = det[:, 1:4:2].clamp(0, height)
            results.append(det[(det[:, 2] > det[:, 0]) & (det[:, 3] > det[:, 1])])
        return results
