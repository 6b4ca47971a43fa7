"""AFW (Annotated Faces in the Wild): real photos with face boxes, read from the face list
`afw_faces_xyxy.json`, a list of {"file": "images/<name>.jpg", "width": W, "height": H,
"boxes_xyxy": [[x1, y1, x2, y2], ...]} (pixels of the stored image; "file" relative to the json's folder).
Used by the exposure experiment (`experiments/darkened_afw.py`) and by MLSM's labelled face crops.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List

import cv2
import numpy as np

from facebench.datasets.dataset import DatasetError, natural_key


@dataclass(frozen=True)
class AfwPhoto:
    """One AFW photo.

    Attributes:
        image_id: file name without extension.
        path: the image file.
        boxes (ndarray[N, 4], float64): (x1, y1, x2, y2) in pixels of the stored image.
    """

    image_id: str
    path: Path
    boxes: np.ndarray


def read_afw(path: Path) -> List[AfwPhoto]:
    """The photos of an `afw_faces_xyxy.json` in natural id order.

    Raises:
        DatasetError: invalid JSON, an entry without "file" / "boxes_xyxy", a bad box or a missing image file
            (one line naming the json and the entry).
    """
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); expected AFW's afw_faces_xyxy.json"
                           ) from None
    if not isinstance(entries, list):
        raise DatasetError(f"{path}: expected a list of {{'file', 'width', 'height', 'boxes_xyxy'}} entries")
    photos = [_photo(Path(path), i, entry) for i, entry in enumerate(entries)]
    return sorted(photos, key=lambda p: natural_key(p.image_id))


def _photo(path: Path, index: int, entry: object) -> AfwPhoto:
    where = f"{path}: entry {index}"
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or "boxes_xyxy" not in entry:
        raise DatasetError(f"{where}: expected {{'file': 'images/<name>.jpg', 'boxes_xyxy': [[x1, y1, x2, y2], ...]}}")
    boxes = np.asarray(entry["boxes_xyxy"] or np.zeros((0, 4)), dtype=np.float64).reshape(-1, 4)
    if not np.all(np.isfinite(boxes)) or np.any(boxes[:, 2:] <= boxes[:, :2]):
        raise DatasetError(f"{where}: boxes {entry['boxes_xyxy']} are not all x1 < x2, y1 < y2 (pixels)")
    image = path.parent / entry["file"]
    if not image.is_file():
        raise DatasetError(f"{where}: image {image} not found; expected 'file' relative to the json's folder")
    return AfwPhoto(image.stem, image, boxes)


def downscale(rgb: np.ndarray, boxes: np.ndarray, max_side: int):
    """(uint8 RGB [h, w, 3], boxes float64 [N, 4] in its pixels): `rgb` shrunk so its long side is at most
    `max_side` (unchanged if already, or if `max_side` is 0), boxes scaled by the same factor and clipped to
    the new image."""
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width)) if max_side else 1.0
    if scale == 1.0:
        return rgb, boxes
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    scaled = boxes * scale
    scaled[:, 0::2] = np.clip(scaled[:, 0::2], 0, size[0])
    scaled[:, 1::2] = np.clip(scaled[:, 1::2], 0, size[1])
    return small, scaled

