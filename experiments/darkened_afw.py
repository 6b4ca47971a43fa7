"""AFW photos darkened by the physical low-light model, written in the DARK FACE layout, one folder per level.

Input: AFW's face list `afw_faces_xyxy.json`, a list of {"file": "images/<name>.jpg", "width": W, "height": H,
"boxes_xyxy": [[x1, y1, x2, y2], ...]} (pixels of the stored image; "file" relative to the json's folder).
Per photo: downscaled (OpenCV INTER_AREA) so that its long side is at most `max_side` px (boxes scaled and
clipped to the image), then for each level `m` darkened by `facebench.lowlight.darken_like_darkface` to a
mean brightness of about m (fraction of full scale; DARK FACE frames are 0.021..0.054). The sensor noise is
seeded by (seed, crc32 of the photo id), the same seed at every level, so levels differ by light only.
Written per level: <out>/<level_name(m)>/image/<id>.png, label/<id>.txt ("N", then N lines "x1 y1 x2 y2"),
README.txt; `facebench eval --data <folder>` reads it. PNGs are deterministic, so a rewritten folder hashes
the same and `facebench eval` reuses its cached detections.
"""
from __future__ import annotations

import json
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import cv2
import numpy as np

from facebench.datasets import DatasetError, read_image
from facebench.datasets.dataset import natural_key
from facebench.lowlight import darken_like_darkface

_README = """AFW photos (real faces) darkened by facebench.lowlight.darken_like_darkface to a mean brightness of about
{level:g} of full scale (measured: {measured:.4f}); synthetic darkness, real faces and boxes.
Source: {source}; {count} photos, {faces} faces; long side at most {max_side} px; noise seed {seed}.
Layout (DARK FACE): image/<id>.png, label/<id>.txt = first line N, then N lines "x1 y1 x2 y2" (pixels).
"""


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


@dataclass(frozen=True)
class DarkLevel:
    """One written level.

    Attributes:
        target: the requested mean brightness (fraction of full scale).
        measured: the written images' mean brightness (mean over images of the mean pixel value / 255).
        folder: the DARK FACE-layout folder.
    """

    target: float
    measured: float
    folder: Path


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


def level_name(level: float) -> str:
    """Folder name of a level: 0.04 -> 'mean0.040'."""
    return f"mean{level:.3f}"


def downscale(rgb: np.ndarray, boxes: np.ndarray, max_side: int):
    """(uint8 RGB [h, w, 3], boxes float64 [N, 4] in its pixels): `rgb` shrunk so its long side is at most
    `max_side` (unchanged if already), boxes scaled by the same factor and clipped to the new image."""
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return rgb, boxes
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    scaled = boxes * scale
    scaled[:, 0::2] = np.clip(scaled[:, 0::2], 0, size[0])
    scaled[:, 1::2] = np.clip(scaled[:, 1::2], 0, size[1])
    return small, scaled


def _label_text(boxes: np.ndarray) -> str:
    return "\n".join([str(len(boxes))] + [" ".join(f"{v:.2f}" for v in box) for box in boxes]) + "\n"


def write_levels(photos: Sequence[AfwPhoto], levels: Sequence[float], out: Path, max_side: int, seed: int,
                 source: str) -> List[DarkLevel]:
    """Write every level's folder under `out` (an existing level folder is replaced); returns them in order."""
    folders = [out / level_name(level) for level in levels]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "image").mkdir(parents=True)
        (folder / "label").mkdir()
    sums = np.zeros(len(levels))
    for photo in photos:
        bright, boxes = downscale(read_image(photo.path), photo.boxes, max_side)
        for k, (level, folder) in enumerate(zip(levels, folders)):
            rng = np.random.default_rng([seed, zlib.crc32(photo.image_id.encode("utf-8"))])
            dark = darken_like_darkface(bright, level, rng)
            sums[k] += dark.mean() / 255.0
            if not cv2.imwrite(str(folder / "image" / f"{photo.image_id}.png"), cv2.cvtColor(dark, cv2.COLOR_RGB2BGR)):
                raise OSError(f"{folder / 'image' / photo.image_id}.png: OpenCV could not write the image")
            (folder / "label" / f"{photo.image_id}.txt").write_text(_label_text(boxes), encoding="utf-8")
    faces = sum(len(p.boxes) for p in photos)
    written = []
    for level, folder, total in zip(levels, folders, sums):
        measured = float(total / max(len(photos), 1))
        (folder / "README.txt").write_text(_README.format(level=level, measured=measured, source=source,
                                                          count=len(photos), faces=faces, max_side=max_side,
                                                          seed=seed), encoding="utf-8")
        written.append(DarkLevel(level, measured, folder))
    return written
