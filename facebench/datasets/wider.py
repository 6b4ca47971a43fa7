"""WIDER FACE ground truth `wider_face_<split>_bbx_gt.txt`.

Per image: a line with the image path (relative to `images/`), a line with the face count N, then N
lines `x y w h blur expression illumination invalid occlusion pose`. N = 0 is followed by one line
of ten zeros. Faces flagged invalid (8th field = 1) become ignore regions, as in the official WIDER
evaluation: a detection whose best-overlapping face is one of them counts neither as a hit nor as a
false positive, and they are not counted as faces (`Sample.ignore`). Invalid faces may have zero
width or height (the tool keeps them too).

Where the images are: the first of `<dir>/../WIDER_<split>/images/`, `<dir>/WIDER_<split>/images/`,
`<dir>/images/`, `<dir>/../images/` (`<dir>` = the gt file's folder, `<split>` from its name) that holds
the first listed image. Ids are the image paths without extension ("0--Parade/0_Parade_marchingband_1_849").
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from facebench.datasets.boxes import check_box, clip_to_image
from facebench.datasets.dataset import DatasetError, Sample, make_sample
from facebench.datasets.entries import samples_from_entries

FIELDS_PER_FACE = 10
INVALID_FIELD = 7


def looks_like_wider(path: Path, first_lines: List[str]) -> bool:
    """True for `*bbx_gt*.txt`, or for a file starting with an image name line then a count line."""
    if "bbx_gt" in path.name:
        return True
    return (len(first_lines) >= 2 and len(first_lines[0].split()) == 1
            and not first_lines[0].strip().isdigit() and first_lines[1].strip().isdigit())


def read_wider(path: Path) -> List[Tuple[int, str, np.ndarray, np.ndarray]]:
    """Parse the file into (line number of the name, image path, valid faces ndarray[N, 4], invalid faces
    ndarray[K, 4]), boxes float64 (x1, y1, x2, y2).

    Raises:
        DatasetError: "path:line: ..." for a missing/bad count, a malformed face line, a bad box.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    entries = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        name_no, name = i + 1, lines[i].strip()
        count = _read_count(path, lines, i + 1)
        rows = [_read_face(path, lines, i + 2 + k) for k in range(max(count, 1))]
        boxes, ignore = [], []
        for k, (x, y, w, h, invalid) in enumerate(rows[:count]):
            if invalid == 1:
                _check_ignore_region((x, y, w, h), f"{path}:{i + 3 + k}")
                ignore.append((x, y, x + w, y + h))
            else:
                check_box((x, y, x + w, y + h), f"{path}:{i + 3 + k}")
                boxes.append((x, y, x + w, y + h))
        entries.append((name_no, name, np.array(boxes, dtype=np.float64).reshape(-1, 4),
                        np.array(ignore, dtype=np.float64).reshape(-1, 4)))
        i += 2 + max(count, 1)
    if not entries:
        raise DatasetError(f"{path}:1: empty ground-truth file; expected 'image path', 'N', N face lines")
    return entries


def _check_ignore_region(xywh: Tuple[float, float, float, float], where: str) -> None:
    if not np.all(np.isfinite(xywh)) or xywh[2] < 0 or xywh[3] < 0:
        raise DatasetError(f"{where}: invalid face {' '.join(f'{v:g}' for v in xywh)}; expected finite x y and "
                           "w, h >= 0")


def _read_count(path: Path, lines: List[str], index: int) -> int:
    text = lines[index].strip() if index < len(lines) else ""
    if not text.isdigit():
        raise DatasetError(f"{path}:{index + 1}: '{text}' is not a face count (after the image name on line "
                           f"{index}); expected one integer N >= 0")
    return int(text)


def _read_face(path: Path, lines: List[str], index: int) -> Tuple[float, float, float, float, int]:
    fields = lines[index].split() if index < len(lines) else []
    try:
        values = [float(v) for v in fields]
    except ValueError:
        values = []
    if len(values) != FIELDS_PER_FACE:
        shown = " ".join(fields) if fields else "end of file"
        raise DatasetError(f"{path}:{index + 1}: '{shown}' is not a face line (count mismatch or malformed line); "
                           f"expected {FIELDS_PER_FACE} numbers 'x y w h blur expression illumination invalid "
                           "occlusion pose'")
    x, y, w, h = values[:4]
    return x, y, w, h, int(values[INVALID_FIELD])


def find_image_dir(path: Path, first_image: str) -> Optional[Path]:
    """The `images/` folder for the gt file `path` (rule in the module docstring), or None."""
    match = re.search(r"wider_face_(\w+?)_bbx_gt", path.name)
    split = match.group(1) if match else "*"
    base = path.parent
    candidates = [*base.parent.glob(f"WIDER_{split}/images"), *base.glob(f"WIDER_{split}/images"),
                  base / "images", base.parent / "images"]
    for folder in candidates:
        if (folder / first_image).is_file():
            return folder
    return None


def load_wider(path: Path, require_images: bool = True) -> List[Sample]:
    """Samples of a WIDER FACE gt file.

    Raises:
        DatasetError: bad lines, or (require_images) an image that cannot be found.
    """
    entries = read_wider(path)
    searched = f"{path.parent.parent}/WIDER_<split>/images/ or {path.parent}/images/"
    image_dir = find_image_dir(path, entries[0][1])
    samples = samples_from_entries([(f"{path}:{no}", name, boxes) for no, name, boxes, _ in entries], image_dir,
                                   searched, require_images)
    return [make_sample(s.image_id, s.image_path, s.boxes, clip_to_image(ignore, s.image_path, f"{path}:{no}"))
            for s, (no, _, _, ignore) in zip(samples, entries)]
