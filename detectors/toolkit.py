"""What the anchor-based detectors (RetinaFace, PyramidBox, S3FD) share, written once: anchors, box coding
with variances, the max-pixels scale rule, the network input (resize + mean subtraction) and the
score / NMS selection.

Dimensions: B images per batch, A anchors of one image (level by level, row-major over each feature
map, the sizes of one cell innermost), N detections of one image.

Boxes are (x1, y1, x2, y2) and anchors (cx, cy, w, h), in the units of the anchors given (pixels of the
network input unless a caller normalises them).
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torchvision.ops import batched_nms, clip_boxes_to_image

VARIANCES = (0.1, 0.2)  # centre offsets x 0.1 x anchor size, log size ratios x 0.2 (SSD's box coding)
RGB_MEAN = (123.0, 117.0, 104.0)  # 0..255 per-channel mean (R, G, B) the three detectors were trained with


def ints_to_floats(config: object, names: Sequence[str]) -> None:
    """Store the int values of the float fields `names` of a frozen dataclass as floats, so that settings
    2 and 2.0 give one identity (and one detection-cache key)."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(config, name, float(value))


# --- anchors and box coding -------------------------------------------------------------------------

def anchor_grid(map_sizes: Sequence[Tuple[int, int]], strides: Sequence[int], sizes: Sequence[Sequence[float]],
                device: "str | torch.device" = "cpu") -> torch.Tensor:
    """Square anchors centred on the cells of each feature map.

    Args:
        map_sizes: (rows, cols) of each level's feature map.
        strides: pixels of the network input per cell, per level.
        sizes: anchor side lengths in pixels, per level (one or more per cell).

    Returns:
        Tensor[A, 4] float32: (cx, cy, w, h) in pixels of the network input, cell centre
        ((col + 0.5) * stride, (row + 0.5) * stride); level by level, row-major, sizes innermost.
    """
    per_level = []
    for (rows, cols), stride, level_sizes in zip(map_sizes, strides, sizes):
        cy, cx = torch.meshgrid((torch.arange(rows, device=device, dtype=torch.float32) + 0.5) * stride,
                                (torch.arange(cols, device=device, dtype=torch.float32) + 0.5) * stride,
                                indexing="ij")
        side = torch.tensor(level_sizes, device=device, dtype=torch.float32)
        centres = torch.stack((cx, cy), -1).reshape(-1, 1, 2).expand(-1, len(level_sizes), 2)
        wh = side.reshape(1, -1, 1).expand(rows * cols, -1, 2)
        per_level.append(torch.cat((centres, wh), -1).reshape(-1, 4))
    return torch.cat(per_level)


def point_form(anchors: torch.Tensor) -> torch.Tensor:
    """(cx, cy, w, h) -> (x1, y1, x2, y2), same units. Tensor[..., 4] -> Tensor[..., 4]."""
    return torch.cat((anchors[..., :2] - anchors[..., 2:] / 2, anchors[..., :2] + anchors[..., 2:] / 2), -1)


def decode(loc: torch.Tensor, anchors: torch.Tensor, variances: Tuple[float, float] = VARIANCES) -> torch.Tensor:
    """Network offsets to boxes: centre = anchor centre + v0 * (dx, dy) * anchor size,
    size = anchor size * exp(v1 * (dw, dh)).

    Args:
        loc (Tensor[..., A, 4]): (dx, dy, dw, dh).
        anchors (Tensor[A, 4]): (cx, cy, w, h).

    Returns:
        Tensor[..., A, 4]: (x1, y1, x2, y2) in the units of `anchors`.
    """
    centre = anchors[:, :2] + loc[..., :2] * variances[0] * anchors[:, 2:]
    size = anchors[:, 2:] * torch.exp(loc[..., 2:] * variances[1])
    return torch.cat((centre - size / 2, centre + size / 2), -1)


def encode(boxes: torch.Tensor, anchors: torch.Tensor, variances: Tuple[float, float] = VARIANCES) -> torch.Tensor:
    """Inverse of `decode`: boxes (Tensor[A, 4], x1y1x2y2) matched to anchors (Tensor[A, 4], cxcywh, same
    units) -> offsets Tensor[A, 4] (dx, dy, dw, dh)."""
    centre = ((boxes[:, :2] + boxes[:, 2:]) / 2 - anchors[:, :2]) / (variances[0] * anchors[:, 2:])
    size = torch.log((boxes[:, 2:] - boxes[:, :2]) / anchors[:, 2:]) / variances[1]
    return torch.cat((centre, size), 1)


# --- scale rule and network input ------------------------------------------------------------------

def max_pixels_scale(height: int, width: int, max_pixels: float) -> float:
    """The resize factor that gives a `height` x `width` image `max_pixels` pixels: sqrt(max_pixels / (H * W)).
    DARK FACE's tiny faces call for upscaling: 2000^2 pixels gives x2.27 for 1080x720."""
    return math.sqrt(max_pixels / (height * width))


def resized_size(height: int, width: int, scale: float) -> Tuple[int, int]:
    """(round(H * scale), round(W * scale)), at least 1 x 1: the network input size for `scale`."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize(images: torch.Tensor, scale: float) -> torch.Tensor:
    """Bilinear resize by `scale` with half-pixel centres and no antialiasing, in both directions: what
    cv2.INTER_LINEAR does, which the public test code of all three detectors resizes with (PyramidBox's
    WIDER schedule shrinks by 0.5 and by its pixel budget; RetinaFace's by its target size).

    Args:
        images (Tensor[B, C, H, W]): float, any range.

    Returns:
        Tensor[B, C, round(H * scale), round(W * scale)]; `images` itself when the size does not change.
    """
    height, width = images.shape[2:]
    size = resized_size(height, width, scale)
    if size == (height, width):
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False)


def network_input(images: torch.Tensor, scale: float = 1.0, bgr: bool = False, flip: bool = False) -> torch.Tensor:
    """The detectors' input: 0..255 minus `RGB_MEAN`, resized by `scale`. Differentiable.

    Args:
        images (Tensor[B, 3, H, W]): float RGB in [0, 1].
        scale: resize factor (see `resize`).
        bgr: channel order of the output (RetinaFace and S3FD were trained on BGR, PyramidBox on RGB).
        flip: mirror left-right (before resizing).

    Returns:
        Tensor[B, 3, round(H * scale), round(W * scale)] float32: channels in the requested order, each
        minus its mean (R 123, G 117, B 104).
    """
    x = images.float() * 255.0
    if flip:
        x = x.flip(-1)
    x = resize(x, scale)
    mean = torch.tensor(RGB_MEAN, device=x.device).view(1, 3, 1, 1)
    if bgr:
        x, mean = x.flip(1), mean.flip(1)
    return x - mean


# --- selection --------------------------------------------------------------------------------------

def select(boxes: torch.Tensor, scores: torch.Tensor, score_threshold: float, nms_iou: float, top_k: int,
           keep_top_k: Optional[int] = None) -> List[torch.Tensor]:
    """Per image: the `top_k` highest scores, those above `score_threshold` with a finite non-empty box,
    NMS, then the first `keep_top_k` (all when None).

    A NaN score (an overflow upstream) ranks last instead of first (`torch.topk` puts NaN on top), and
    is never selected.

    Args:
        boxes (Tensor[B, A, 4]): (x1, y1, x2, y2), any units.
        scores (Tensor[B, A]): face probabilities.

    Returns:
        list of B Tensor[N, 5] float32: (x1, y1, x2, y2, score) by decreasing score.
    """
    scores, boxes = scores.float(), boxes.float()
    ranked = torch.where(torch.isnan(scores), torch.full_like(scores, -math.inf), scores)
    top = ranked.topk(min(top_k, scores.shape[1]), dim=1)
    boxes = boxes.gather(1, top.indices.unsqueeze(-1).expand(-1, -1, 4))
    valid = ((top.values > score_threshold) & torch.isfinite(boxes).all(-1)
             & (boxes[..., 2] > boxes[..., 0]) & (boxes[..., 3] > boxes[..., 1]))
    image = torch.arange(scores.shape[0], device=scores.device).unsqueeze(1).expand_as(valid)[valid]
    boxes, kept = boxes[valid], top.values[valid]
    keep = batched_nms(boxes, kept, image, nms_iou)
    detections = torch.cat((boxes[keep], kept[keep, None]), 1)
    return [detections[image[keep] == b][:keep_top_k] for b in range(scores.shape[0])]


def clip_detections(det: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Clip boxes to a `height` x `width` image and drop those left empty.

    Args:
        det (Tensor[N, 5]): (x1, y1, x2, y2, score) in pixels.

    Returns:
        Tensor[M, 5] float32, M <= N, same order.
    """
    det = torch.cat((clip_boxes_to_image(det[:, :4], (height, width)), det[:, 4:]), 1).float()
    return det[(det[:, 2] > det[:, 0]) & (det[:, 3] > det[:, 1])]
