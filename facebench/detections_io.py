"""Per-image detection files in the official DARK FACE submission format.

One `<image_id>.txt` per image, one detection per line: `x1 y1 x2 y2 score` (pixels, whitespace
separated). An empty file (or a missing one) means no detections. Numbers are written with Python's
shortest round-trip repr, so reading a written file gives back the same float64 values.

Reading is what the official tool accepts: any five numbers per line. A line with another field count,
a non-number, NaN or infinity is an error naming file and line. Inverted or zero-area boxes (x2 <= x1 or
y2 <= y1) are read as they are (the metrics score them as the official tool does) and reported once per
read as a `DegenerateBoxes` summary: count and the first file:line. A folder is parsed in bulk (one
float conversion for all files); the line-by-line parser only runs to name the line of an error.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from facebench.atomic import write_text_atomic

PathLike = Union[str, os.PathLike]
FIELDS = 5


class DegenerateBoxWarning(UserWarning):
    """Detection files hold inverted or zero-area boxes (scored, not refused)."""


@dataclass(frozen=True)
class DegenerateBoxes:
    """Inverted or zero-area boxes found in one read: how many, and where the first one is."""

    count: int
    first: str  # "path:line"

    def message(self) -> str:
        """One line for the user."""
        return (f"{self.count} detection(s) with x2 <= x1 or y2 <= y1 (inverted or zero-area), first at "
                f"{self.first}: scored as the official tool scores them, not refused")


Reporter = Callable[[DegenerateBoxes], None]


def warn_degenerate(found: DegenerateBoxes) -> None:
    """The default reporter: one `DegenerateBoxWarning`."""
    warnings.warn(found.message(), DegenerateBoxWarning, stacklevel=3)


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
        path = folder / f"{image_id}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_detection_file(path, boxes)


def _bad_line(path: Path, text: str) -> Optional[ValueError]:
    """The error of a file's first malformed line (one line naming file:line), or None if it has none."""
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != FIELDS:
            return ValueError(f"{path}:{number}: expected 5 numbers 'x1 y1 x2 y2 score', got {len(fields)} field(s)")
        try:
            values = np.array(fields, dtype=np.float64)
        except ValueError:
            return ValueError(f"{path}:{number}: expected 5 numbers 'x1 y1 x2 y2 score', got {line.strip()!r}")
        if not np.isfinite(values).all():
            return ValueError(f"{path}:{number}: NaN or infinite value in {line.strip()!r}")
    return None


def _raise_first_bad(paths: List[Path], texts: List[str], start: int) -> None:
    for path, text in zip(paths[start:], texts[start:]):
        error = _bad_line(path, text)
        if error is not None:
            raise error
    raise AssertionError("the bulk parse failed but no line is malformed")


def _parse_texts(paths: List[Path], texts: List[str]) -> Tuple[List[np.ndarray], Optional[DegenerateBoxes]]:
    """All files in one float conversion: float64 [N_k, 5] per file, and the degenerate-box summary."""
    tokens: List[str] = []
    rows = []
    for text in texts:
        if not {len(line.split()) for line in text.split("\n")} <= {0, FIELDS}:
            _raise_first_bad(paths, texts, 0)  # the error of the first bad file, whatever its kind
        fields = text.split()
        tokens += fields
        rows.append(len(fields) // FIELDS)
    ends = np.cumsum(rows, dtype=np.int64)
    try:
        values = np.array(tokens, dtype=np.float64).reshape(-1, FIELDS)
    except ValueError:
        values = None
    if values is None:  # a non-number somewhere
        _raise_first_bad(paths, texts, 0)
    finite = np.isfinite(values).all(axis=1)
    if not finite.all():
        _raise_first_bad(paths, texts, int(np.searchsorted(ends, np.argmin(finite), side="right")))
    degenerate = np.flatnonzero((values[:, 2] <= values[:, 0]) | (values[:, 3] <= values[:, 1]))
    found = None
    if len(degenerate):
        k = int(np.searchsorted(ends, degenerate[0], side="right"))
        row = int(degenerate[0] - (ends[k - 1] if k else 0))
        lines = [n for n, line in enumerate(texts[k].split("\n"), start=1) if line.split()]
        found = DegenerateBoxes(len(degenerate), f"{paths[k]}:{lines[row]}")
    return np.split(values, ends[:-1]), found


def read_detection_file(path: PathLike, on_degenerate: Optional[Reporter] = None) -> np.ndarray:
    """Reads one `<image_id>.txt`; blank lines are skipped.

    Args:
        path: the file.
        on_degenerate: called once if the file holds inverted or zero-area boxes; default
            `warn_degenerate` (a `DegenerateBoxWarning`).

    Returns:
        float64 [N, 5] (x1, y1, x2, y2, score) in file order.

    Raises:
        ValueError: one line naming the file and line: wrong column count, non-numbers, NaN or infinity.
    """
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        (dets,), found = _parse_texts([path], [f.read()])
    if found is not None:
        (on_degenerate or warn_degenerate)(found)
    return dets


def read_detections(folder: PathLike, image_ids: Optional[Iterable[str]] = None,
                    on_degenerate: Optional[Reporter] = None) -> Dict[str, np.ndarray]:
    """Reads a folder of `<image_id>.txt` files into the `dets` dict.

    Args:
        folder: folder holding the files.
        image_ids: read only these ids (an id may contain '/': a file in a subfolder); a missing file
            then means no detections (no entry). None reads every `*.txt` in the folder.
        on_degenerate: called once if any file holds inverted or zero-area boxes; default
            `warn_degenerate` (a `DegenerateBoxWarning`).

    Returns:
        image id (file stem) -> float64 [N, 5] (x1, y1, x2, y2, score).

    Raises:
        FileNotFoundError: `folder` is not a folder.
        ValueError: a malformed line (one line naming file and line).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: detections folder not found (expected <image_id>.txt files)")
    if image_ids is None:
        paths = {p.stem: p for p in sorted(folder.glob("*.txt"))}
    else:
        paths = {str(i): folder / f"{i}.txt" for i in image_ids}
    paths = {key: p for key, p in paths.items() if p.is_file()}
    texts = []
    for p in paths.values():
        with open(p, encoding="utf-8") as f:
            texts.append(f.read())
    arrays, found = _parse_texts(list(paths.values()), texts)
    if found is not None:
        (on_degenerate or warn_degenerate)(found)
    return dict(zip(paths, arrays))
