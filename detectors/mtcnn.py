"""MTCNN (Zhang et al., 2016) from facenet-pytorch, whose wheel ships the P/R/O-Net weights.

Optional dependency: `pip install 'facebench[mtcnn]'` (facenet-pytorch 2.5.3: no version pins; 2.6.0
pins torch<2.3 and would downgrade torch, so the extra pins 2.5.3).

Dimensions: B images per batch (one size), N detections of one image.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import numpy as np
import torch

from facebench.detectors import BUILTIN_DETECTORS
from facebench.plugin_api import Detector
from facebench.weights import WeightsInfo

_INSTALL = BUILTIN_DETECTORS["mtcnn"].meta.weights.install  # "pip install 'facebench[mtcnn]'"
_NETS = ("pnet.pt", "rnet.pt", "onet.pt")


def _facenet_pytorch():
    try:
        import facenet_pytorch
    except ImportError as exc:
        raise ImportError(f"mtcnn: needs facenet-pytorch 2.5.3 ({exc}); install it with {_INSTALL}") from None
    return facenet_pytorch


def _weights_info(package_dir: Path) -> WeightsInfo:
    """One sha256 over the three shipped weight files (in P, R, O order)."""
    digest = hashlib.sha256()
    for name in _NETS:
        digest.update((package_dir / "data" / name).read_bytes())
    version = importlib.metadata.version("facenet-pytorch")
    return WeightsInfo(path=str(package_dir / "data"), sha256=digest.hexdigest(),
                       source=f"shipped in facenet-pytorch {version} (MIT)")


@dataclass(frozen=True)
class MTCNNConfig:
    """Settings that change the detections (all part of the identity).

    Attributes:
        min_face_size: smallest face searched, pixels (facenet-pytorch: 20; 10 here for DARK FACE's tiny
            faces - the image pyramid then starts at 1.2x).
        thresholds: P-, R-, O-Net score thresholds (facenet-pytorch's defaults).
        factor: image-pyramid scale step.
    """

    min_face_size: float = 10.0
    thresholds: Tuple[float, float, float] = (0.6, 0.7, 0.7)
    factor: float = 0.709

    def __post_init__(self):
        if self.min_face_size <= 0 or len(self.thresholds) != 3 or not 0 < self.factor < 1:
            raise ValueError(f"mtcnn: bad settings {self}: expected min_face_size > 0, three thresholds, "
                             "0 < factor < 1")


class MTCNN(Detector):
    """`mtcnn`: facenet-pytorch's MTCNN with its shipped weights.

    Args:
        min_face_size, thresholds, factor: see `MTCNNConfig`.
    """

    name = "mtcnn"
    meta = BUILTIN_DETECTORS["mtcnn"].meta

    def __init__(self, min_face_size: float = 10.0, thresholds: Tuple[float, float, float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709):
        super().__init__()
        self.config = MTCNNConfig(float(min_face_size), tuple(float(t) for t in thresholds), float(factor))
        package = _facenet_pytorch()
        self.weights = _weights_info(Path(package.__file__).parent)
        self._mtcnn = package.MTCNN(min_face_size=self.config.min_face_size, thresholds=list(self.config.thresholds),
                                    factor=self.config.factor, keep_all=True, select_largest=False, device="cpu")

    def to(self, device: "str | torch.device"):
        """Move the three networks to `device`."""
        super().to(device)
        self._mtcnn.to(self.device).eval()
        self._mtcnn.device = self.device
        return self

    @torch.no_grad()
    def detect(self, images: torch.Tensor) -> List[torch.Tensor]:
        """Detect faces.

        Args:
            images (Tensor[B, 3, H, W]): float RGB in [0, 1].

        Returns:
            list of B Tensor[N, 5] float32 on `images.device`: (x1, y1, x2, y2, score), boxes in pixels of
            the input image (clipped), score = O-Net probability, by decreasing score.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"mtcnn: expected images [B, 3, H, W], got {list(images.shape)}")
        height, width = images.shape[2:]
        batch = (images.to(self.device).float() * 255.0).round().permute(0, 2, 3, 1)
        boxes, probs = self._mtcnn.detect(batch)
        results = []
        for b in range(images.shape[0]):
            if boxes[b] is None:
                results.append(torch.zeros((0, 5), device=images.device))
                continue
            det = np.concatenate((np.asarray(boxes[b], dtype=np.float32).reshape(-1, 4),
                                  np.asarray(probs[b], dtype=np.float32).reshape(-1, 1)), 1)
            det = torch.from_numpy(det).to(images.device)
            det[:, 0:4:2] = det[:, 0:4:2].clamp(0, width)
            det[:, 1:4:2] = det[:, 1:4:2].clamp(0, height)
            det = det[(det[:, 2] > det[:, 0]) & (det[:, 3] > det[:, 1])]
            results.append(det[det[:, 4].argsort(descending=True)])
        return results
