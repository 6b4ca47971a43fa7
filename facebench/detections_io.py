"""Per-image detection files in the official DARK FACE submission format.

One `<image_id>.txt` per image, one detection per line: `x1 y1 x2 y2 score` (pixels, whitespace
separated). An empty file (or a missing one) means no detections. Numbers are written with Python's
shortest round-trip repr, so reading a written file gives back the same float64 values.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional, Union

import numpy as np

from facebench.atomic import write_text_atomic

PathLike = Union[str, os.PathLike]


def _format_line(row: np.ndarray) -> str:
    return " ".join(repr(float(v)) for v in row)


def write_detection_file(path: PathLike, dets: np.ndarray) -> None:
    """Writes one image's detections atomically (temporary file in the same folder, then a rename).

    Args:
        path: the `<image_id>.txt` file to write; its folder must exist.
        dets: float [N, 5] (x1, y1, x2, y2, score) in pixels; N may be 0 (empty file).
    """
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 5) if np.size(dets) else np.zeros((0, 5))
    path = Path(path)
    text = "".join(_format_line(row) + "\n" for row in dets)
    write_text_atomic(path, text, encoding="ascii")


def write_detections(folder: PathLike, dets: Mapping[str, np.ndarray]) -> None:
    """Writes `<image_id>.txt` for every image of `dets` (folder created if needed).

    Args:
        folder: output folder.
        dets: image id -> float [N, 5] (x1, y1, x2, y2, score) in pixels.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for image_id, boxes in dets.items():
        write_detection_file(folder / f"{image_id}.txt", boxes)


def _parse_line(path: Path, number: int, line: str) -> list:
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"{path}:{number}: expected 5 numbers 'x1 y1 x2 y2 score', got {len(fields)} field(s)")
    try:
        values = [float(v) for v in fields]
    except ValueError:
        raise ValueError(f"{path}:{number}: expected 5 numbers 'x1 y1 x2 y2 score', got {line.strip()!r}") from None
    if not all(np.isfinite(values)):
        raise ValueError(f"{path}:{number}: NaN or infinite value in {line.strip()!r}")
    if values[2] < values[0] or values[3] < values[1]:
        raise ValueError(f"{path}:{number}: x2 < x1 or y2 < y1 in {line.strip()!r} (expected x1 y1 x2 y2 score)")
    return values


def read_detection_file(path: PathLike) -> np.ndarray:
    """Reads one `<image_id>.txt`; blank lines are skipped.

    Returns:
        float64 [N, 5] (x1, y1, x2, y2, score) in file order.

    Raises:
        ValueError: one line naming the file and line: wrong column count, non-numbers, x2 < x1 or y2 < y1.
    """
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        rows = [_parse_line(path, n, line) for n, line in enumerate(f, start=1) if line.strip()]
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def read_detections(folder: PathLike, image_ids: Optional[Iterable[str]] = None) -> Dict[str, np.ndarray]:
    """Reads a folder of `<image_id>.txt` files into the `dets` dict.

    Args:
        folder: folder holding the files.
        image_ids: read only these ids; a missing file then means no detections (no entry). None reads
            every `*.txt` in the folder.

    Returns:
        image id (file stem) -> float64 [N, 5] (x1, y1, x2, y2, score).

    Raises:
        FileNotFoundError: `folder` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: detections folder not found (expected <image_id>.txt files)")
    if image_ids is None:
        paths = {p.stem: p for p in sorted(folder.glob("*.txt"))}
    else:
        paths = {str(i): folder / f"{i}.txt" for i in image_ids}
    return {key: read_detection_file(p) for key, p in paths.items() if p.is_file()}
