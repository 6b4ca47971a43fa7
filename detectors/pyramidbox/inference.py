"""PyramidBox test-time procedures: single scale (fixed or max-pixels rule), horizontal flip, and the
public port's WIDER FACE multi-scale schedule with box voting.

Dimensions: B images per batch (one size), P priors, N detections of one image.

Every pass (pieces from `facebench.detectors.toolkit`): RGB 0..255 minus the mean (R 123, G 117, B 104),
bilinear resize by the pass's scale (no antialiasing, like cv2.INTER_LINEAR), softmax over the face
logits, decoding with variances (0.1, 0.2), score > threshold, top_k highest, NMS; boxes mapped back to
input pixels.
As in the public procedure, every NMS survivor of a pass (up to top_k = 5000) goes to the merge:
score-weighted box voting (or NMS), which keeps keep_top_k (750); the result is clipped to the image.
The network runs in fp32 unless `precision="mixed"` (see `facebench.detectors.precision`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import torch
from torchvision.ops import box_iou, nms

from facebench.detectors.precision import PRECISIONS, autocast
from facebench.detectors.toolkit import (clip_detections, decode, ints_to_floats, max_pixels_scale, network_input,
                                         select)

PROCEDURES = ("single", "wider")
MERGES = ("vote", "nms")
# Size filters of the WIDER schedule (pixels of the input image, public convention w = x2 - x1 + 1).
_SHRUNK_MIN_SIDE = 30.0
_ENLARGED_MAX_SIDE = 100.0


@dataclass(frozen=True)
class TestTimeConfig:
    """Settings that change PyramidBox's detections (all part of the detector's identity).

    Attributes:
        procedure: "single" = one pass (plus its flip if `flip`) at `scale`; "wider" = the public port's
            WIDER FACE schedule: base pass at min(1, m) and its flip, a 0.5x pass (boxes with longer side
            > 30 px kept), enlarged passes up to m (boxes with shorter side < 100 px kept), all merged by
            box voting; m = sqrt(max_pixels / (H * W)).
        scale: fixed resize factor of the "single" procedure; None = the max-pixels rule
            sqrt(max_pixels / (H * W)).
        max_pixels: pixel budget of the max-pixels rule. The default 2000^2 upscales a 1080x720 DARK FACE
            image by ~2.27 (its faces are tiny, median ~11.5 px); the public WIDER schedule uses 1.7e6.
        flip: add a horizontally flipped pass at the base scale ("wider" always has it).
        merge: how several passes are merged: "vote" (the public box voting) or "nms".
        score_threshold: face probability a candidate must exceed. 0.01 by default because AP needs the
            low-score tail; the public code uses 0.05.
        nms_iou: IoU of per-pass NMS (and of the merge), 0.3 as in the public code.
        top_k: candidates per image and pass kept before NMS (5000); every NMS survivor goes to the merge.
        keep_top_k: detections per image kept after merging (box voting, NMS, or the single pass) (750).
        precision: "fp32", or "mixed" = fp16 autocast with the LFPN (its convolutions, fusions and L2Norm) and
            the heads in fp32 (for a GPU; see `facebench.detectors.precision`).
    """

    procedure: str = "single"
    scale: Optional[float] = None
    max_pixels: float = 2000.0 * 2000.0
    flip: bool = False
    merge: str = "vote"
    score_threshold: float = 0.01
    nms_iou: float = 0.3
    top_k: int = 5000
    keep_top_k: int = 750
    precision: str = "fp32"

    def __post_init__(self):
        ints_to_floats(self, ("scale", "max_pixels", "score_threshold", "nms_iou"))
        problems = []
        if self.procedure not in PROCEDURES:
            problems.append(f"procedure {self.procedure!r} not in {PROCEDURES}")
        if self.merge not in MERGES:
            problems.append(f"merge {self.merge!r} not in {MERGES}")
        if self.scale is not None and (self.scale <= 0 or self.procedure == "wider"):
            problems.append(f"scale {self.scale} (must be > 0, and only with procedure 'single')")
        if self.max_pixels <= 0 or not 0 <= self.score_threshold < 1 or not 0 < self.nms_iou <= 1:
            problems.append(f"max_pixels {self.max_pixels} > 0, 0 <= score_threshold {self.score_threshold} < 1, "
                            f"0 < nms_iou {self.nms_iou} <= 1")
        if self.top_k < 1 or self.keep_top_k < 1:
            problems.append(f"top_k {self.top_k} and keep_top_k {self.keep_top_k} must be >= 1")
        if self.precision not in PRECISIONS:
            problems.append(f"precision {self.precision!r} not in {PRECISIONS}")
        if problems:
            raise ValueError("pyramidbox: bad test-time settings: " + "; ".join(problems))

    @classmethod
    def wider(cls, **overrides) -> "TestTimeConfig":
        """The public port's WIDER FACE evaluation settings (threshold 0.05, 1.7e6-pixel budget)."""
        settings = dict(procedure="wider", max_pixels=1700.0 * 1000.0, flip=True, score_threshold=0.05)
        settings.update(overrides)
        return cls(**settings)


@dataclass(frozen=True)
class _Pass:
    scale: float
    flip: bool = False
    min_long_side: float = 0.0  # keep boxes whose longer side is > this
    max_short_side: float = math.inf  # keep boxes whose shorter side is < this


def plan_passes(config: TestTimeConfig, height: int, width: int) -> List[_Pass]:
    """The passes `config` runs on a `height` x `width` image, in the public code's order."""
    budget = max_pixels_scale(height, width, config.max_pixels)
    if config.procedure == "single":
        scale = config.scale if config.scale is not None else budget
        return [_Pass(scale)] + ([_Pass(scale, flip=True)] if config.flip else [])
    base = min(1.0, budget)
    passes = [_Pass(base), _Pass(base, flip=True)]
    small = 0.5 if budget >= 0.75 else 0.5 * budget
    passes.append(_Pass(small, min_long_side=_SHRUNK_MIN_SIDE))
    big = min(2.0, budget) if budget > 1 else (small + budget) / 2
    big_scales = [big]
    if budget > 2:
        big *= 2
        while big < budget:
            big_scales.append(big)
            big *= 2
        big_scales.append(budget)
    keep = dict(max_short_side=_ENLARGED_MAX_SIDE) if big > 1 else dict(min_long_side=_SHRUNK_MIN_SIDE)
    return passes + [_Pass(s, **keep) for s in big_scales]


def _face_scores_and_boxes(net: torch.nn.Module, x: torch.Tensor, precision: str):
    """Run the network -> scores Tensor[B, P] float32 and normalised boxes Tensor[B, P, 4] float32."""
    with autocast(x.device, precision):
        face_loc, face_conf, *_, priors = net(x)
    scores = face_conf.float().softmax(-1)[..., 1]
    return scores, decode(face_loc.float(), priors.float())


def _size_filter(det: torch.Tensor, spec: _Pass) -> torch.Tensor:
    w = det[:, 2] - det[:, 0] + 1
    h = det[:, 3] - det[:, 1] + 1
    keep = (torch.maximum(w, h) > spec.min_long_side) & (torch.minimum(w, h) < spec.max_short_side)
    return det[keep]


def run_pass(net: torch.nn.Module, images: torch.Tensor, spec: _Pass, config: TestTimeConfig) -> List[torch.Tensor]:
    """One pass over a batch -> list of B Tensor[N, 5] (up to config.top_k NMS survivors each) in pixels of the
    (unflipped) input images."""
    height, width = images.shape[2:]
    x = network_input(images, spec.scale, flip=spec.flip)
    scores, boxes = _face_scores_and_boxes(net, x, config.precision)
    boxes = boxes * torch.tensor([width, height, width, height], device=boxes.device, dtype=boxes.dtype)
    if spec.flip:
        boxes = torch.stack((width - boxes[..., 2], boxes[..., 1], width - boxes[..., 0], boxes[..., 3]), -1)
    per_image = select(boxes, scores, config.score_threshold, config.nms_iou, config.top_k)
    return [_size_filter(d, spec) for d in per_image]


def box_voting(det: torch.Tensor, iou: float = 0.3, keep: int = 750) -> torch.Tensor:
    """The public port's box voting (`bbox_vote`).

    Repeatedly take the highest-scored box and every box overlapping it by IoU >= `iou` (areas with the
    public "+1" pixel convention); a group of two or more becomes one box with score-weighted mean
    coordinates and the group's maximum score; a lone box is dropped, as in the public code.

    Args:
        det (Tensor[N, 5]): (x1, y1, x2, y2, score).

    Returns:
        Tensor[M, 5] (M <= keep), by decreasing score.
    """
    det = det[det[:, 4].argsort(descending=True)]
    merged = []
    while det.shape[0] > 0:
        plus_one = det[:, :4] + torch.tensor([0, 0, 1, 1], dtype=det.dtype, device=det.device)
        overlap = box_iou(plus_one[:1], plus_one)[0] >= iou
        overlap[0] = True
        group, det = det[overlap], det[~overlap]
        if group.shape[0] > 1:
            weights = group[:, 4:5]
            merged.append(torch.cat(((group[:, :4] * weights).sum(0) / weights.sum(), group[:, 4].max()[None])))
        if len(merged) == keep:
            break
    return torch.stack(merged) if merged else det.new_zeros((0, 5))


def merge_passes(per_pass: List[torch.Tensor], config: TestTimeConfig) -> torch.Tensor:
    """Detections of one image from one or more passes (list of Tensor[N_i, 5]) -> Tensor[N, 5], N <= keep_top_k,
    by decreasing score."""
    if len(per_pass) == 1:
        return per_pass[0][: config.keep_top_k]
    det = torch.cat(per_pass)
    if config.merge == "vote":
        return box_voting(det, config.nms_iou, config.keep_top_k)
    keep = nms(det[:, :4], det[:, 4], config.nms_iou)[: config.keep_top_k]
    return det[keep]


@torch.no_grad()
def detect_faces(net: torch.nn.Module, images: torch.Tensor, config: TestTimeConfig) -> List[torch.Tensor]:
    """Run `config`'s test-time procedure.

    Args:
        net: a PyramidBoxNet in eval mode, on `images.device`.
        images (Tensor[B, 3, H, W]): float RGB in [0, 1].

    Returns:
        list of B Tensor[N, 5] float32: (x1, y1, x2, y2, score), boxes in pixels of the input image
        (clipped to it, degenerate boxes dropped), score = face probability, by decreasing score.
    """
    height, width = images.shape[2:]
    passes = [run_pass(net, images, spec, config) for spec in plan_passes(config, height, width)]
    return [clip_detections(merge_passes([p[b] for p in passes], config), height, width)
            for b in range(images.shape[0])]
