"""Image strips: which images a report shows, where it crops them, and how boxes are drawn.

Choice (from ground truth and saved detections only, so the same run always gives the same strips):
an enhancer "finds" a ground-truth face when a detection scoring >= `score` overlaps it with IoU >= 0.5.
An image's gain is the mean, over the non-baseline enhancers and the QFs, of faces found minus the faces
the baseline found at the same QF. Shown: the largest gain, the largest loss and the median image; ties
go to the first image in natural id order, and an image is never shown twice.

Boxes: (x1, y1, x2, y2) in pixels of the full image; detections [N, 5] add the detector's score.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

import cv2
import numpy as np

from facebench.datasets.dataset import natural_key

MATCH_IOU = 0.5
GT_COLOR = (0, 220, 0)        # RGB
DET_COLOR = (255, 40, 220)    # RGB
_ASPECT = 1.5                 # crop width / height (DARK FACE frames are 3:2)


@dataclass(frozen=True)
class ChosenImage:
    """One image picked for a strip.

    Attributes:
        role: 'largest gain', 'largest loss' or 'median'.
        image_id: the image.
        gain: mean faces found minus the baseline's (see the module docstring).
    """

    role: str
    image_id: str
    gain: float


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a [M, 4] and b [N, 4] -> [M, N] (plain area, no +1)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:4], b[None, :, 2:4])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:4] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:4] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def faces_found(gt: np.ndarray, dets: np.ndarray, score: float) -> int:
    """Ground-truth faces (gt [M, 4]) overlapped with IoU >= 0.5 by a detection (dets [N, 5]) scoring >= score."""
    kept = dets[dets[:, 4] >= score] if len(dets) else dets
    if not len(gt) or not len(kept):
        return 0
    return int((_iou(gt, kept[:, :4]) >= MATCH_IOU).any(axis=1).sum())


def image_gains(gts: Mapping[str, np.ndarray], dets: Mapping[Tuple[str, str], Mapping[str, np.ndarray]],
                baseline: str, score: float) -> Dict[str, float]:
    """image id -> mean gain in faces found over the baseline (0 for every image without other enhancers).

    Args:
        gts: image id -> ground truth [M, 4].
        dets: (qf, enhancer spec) -> image id -> detections [N, 5]; a missing image id = no detections.
        baseline: the enhancer spec the others are compared with.
    """
    empty = np.zeros((0, 5))
    pairs = [(qf, spec) for qf, spec in dets if spec != baseline]
    gains = {}
    for image_id, gt in gts.items():
        diffs = [faces_found(gt, dets[(qf, spec)].get(image_id, empty), score)
                 - faces_found(gt, dets[(qf, baseline)].get(image_id, empty), score) for qf, spec in pairs]
        gains[image_id] = float(np.mean(diffs)) if diffs else 0.0
    return gains


def choose_images(gains: Mapping[str, float]) -> List[ChosenImage]:
    """The largest-gain, largest-loss and median images (up to 3 distinct ones; fewer for smaller sets)."""
    order = sorted(gains, key=lambda i: (-gains[i], natural_key(i)))
    picks = [("largest gain", order), ("largest loss", sorted(order, key=lambda i: (gains[i], natural_key(i)))),
             ("median", sorted(order, key=lambda i: abs(order.index(i) - len(order) // 2)))]
    chosen: List[ChosenImage] = []
    for role, candidates in picks:
        image_id = next((i for i in candidates if i not in {c.image_id for c in chosen}), None)
        if image_id is not None:
            chosen.append(ChosenImage(role, image_id, gains[image_id]))
    return chosen


def crop_window(gt: np.ndarray, width: int, height: int, min_width: int = 120,
                max_width: int = 360) -> Tuple[int, int, int, int]:
    """A 3:2 window (x1, y1, x2, y2) inside the image, holding as many ground-truth faces as possible.

    Its width is 8x the median face size sqrt(w*h), within [min_width, max_width] and the image; it is
    centred on the face whose window holds the most faces (the first such face on a tie).
    """
    sizes = np.sqrt(np.prod(gt[:, 2:4] - gt[:, :2], axis=1)) if len(gt) else np.array([min_width / 8])
    crop_w = int(min(max(8 * float(np.median(sizes)), min_width), max_width, width, height * _ASPECT))
    crop_h = int(round(crop_w / _ASPECT))
    centers = (gt[:, :2] + gt[:, 2:4]) / 2 if len(gt) else np.array([[width / 2, height / 2]])
    best, best_count = None, -1
    for cx, cy in centers:
        x1 = int(np.clip(round(cx - crop_w / 2), 0, width - crop_w))
        y1 = int(np.clip(round(cy - crop_h / 2), 0, height - crop_h))
        inside = ((gt[:, 0] >= x1) & (gt[:, 1] >= y1) & (gt[:, 2] <= x1 + crop_w) & (gt[:, 3] <= y1 + crop_h)).sum()
        if inside > best_count:
            best, best_count = (x1, y1, x1 + crop_w, y1 + crop_h), int(inside)
    return best


def draw_tile(image: np.ndarray, window: Sequence[int], gt: np.ndarray, dets: np.ndarray, score: float,
              scale: int) -> np.ndarray:
    """The crop `window` of `image` (uint8 RGB [H, W, 3]) enlarged `scale` x (nearest neighbour), with ground
    truth (green) and detections scoring >= `score` (magenta) drawn 1 px wide just outside each box.

    Returns:
        uint8 RGB [(y2 - y1) * scale, (x2 - x1) * scale, 3].
    """
    x1, y1, x2, y2 = window
    tile = cv2.resize(np.ascontiguousarray(image[y1:y2, x1:x2]), None, fx=scale, fy=scale,
                      interpolation=cv2.INTER_NEAREST)
    kept = dets[dets[:, 4] >= score] if len(dets) else np.zeros((0, 5))
    for boxes, color in ((kept[:, :4], DET_COLOR), (gt, GT_COLOR)):
        for bx1, by1, bx2, by2 in boxes:
            top_left = (int(round((bx1 - x1) * scale)) - 1, int(round((by1 - y1) * scale)) - 1)
            bottom_right = (int(round((bx2 - x1) * scale)), int(round((by2 - y1) * scale)))
            cv2.rectangle(tile, top_left, bottom_right, color, 1)
    return tile
