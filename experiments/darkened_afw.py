"""AFW photos darkened by the physical low-light model, written in the DARK FACE layout, one folder per level.

Input: AFW's face list `afw_faces_xyxy.json` (`facebench.datasets.afw`).
Per photo: downscaled (OpenCV INTER_AREA) so that its long side is at most `max_side` px (boxes scaled and
clipped to the image), then for each level `m` darkened by `facebench.lowlight.darken_like_darkface` to a
mean brightness of about m (fraction of full scale; DARK FACE frames are 0.021..0.054). The sensor noise is
seeded by (seed, crc32 of the photo id), the same seed at every level, so levels differ by light only.
Written per level: <out>/<level_name(m)>/image/<id>.png, label/<id>.txt ("N", then N lines "x1 y1 x2 y2"),
README.txt; `facebench eval --data <folder>` reads it. PNGs are deterministic, so a rewritten folder hashes
the same and `facebench eval` reuses its cached detections.
"""
from __future__ import annotations

import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import cv2
import numpy as np

from facebench.datasets import read_image
from facebench.datasets.afw import AfwPhoto, downscale
from facebench.lowlight import darken_like_darkface

_README = """AFW photos (real faces) darkened by facebench.lowlight.darken_like_darkface to a mean brightness of about
{level:g} of full scale (measured: {measured:.4f}); synthetic darkness, real faces and boxes.
Source: {source}; {count} photos, {faces} faces; long side at most {max_side} px; noise seed {seed}.
Layout (DARK FACE): image/<id>.png, label/<id>.txt = first line N, then N lines "x1 y1 x2 y2" (pixels).
"""


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


def level_name(level: float) -> str:
    """Folder name of a level: 0.04 -> 'mean0.040'."""
    return f"mean{level:.3f}"


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
