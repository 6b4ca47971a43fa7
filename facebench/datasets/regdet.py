"""REGDet-style single label file: one line per image, `name N x y w h 1 x y w h 1 ...`.

Each face is 5 fields: x, y, width, height (pixels) and a class field (1). Boxes become
(x, y, x + w, y + h), which matches the official DARK FACE label files.

Where the images are: the first of `<dir>/images/`, `<dir>/image/`, `<dir>/`, `<dir>/../images/`,
`<dir>/../image/` (`<dir>` = the label file's folder) that holds the first listed image; every other
listed image must be in that same folder. Images in it that the file does not list are ignored
(train.txt and test.txt share one image folder).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from facebench.datasets.boxes import check_box
from facebench.datasets.dataset import DatasetError, Sample
from facebench.datasets.entries import samples_from_entries

FIELDS_PER_FACE = 5


def looks_like_regdet(first_line: str) -> bool:
    """True when a line has the shape `name N ...` with 2 + 5N fields."""
    fields = first_line.split()
    return len(fields) >= 2 and fields[1].isdigit() and len(fields) == 2 + FIELDS_PER_FACE * int(fields[1])


def read_regdet(path: Path) -> List[Tuple[int, str, np.ndarray]]:
    """Parse the file into (line number, image file name, boxes ndarray[N, 4] float64 x1,y1,x2,y2 pixels).

    Raises:
        DatasetError: "path:line: ..." for a malformed line, a count mismatch, a bad box or a repeated name.
    """
    entries = []
    seen = {}
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{line_no}"
        name, boxes = _parse_line(fields, where)
        if name in seen:
            raise DatasetError(f"{where}: image {name} is listed again (first on line {seen[name]}); "
                               "expected one line per image")
        seen[name] = line_no
        entries.append((line_no, name, boxes))
    if not entries:
        raise DatasetError(f"{path}:1: empty label file; expected lines 'name N x y w h 1 ...'")
    return entries


def _parse_line(fields: List[str], where: str) -> Tuple[str, np.ndarray]:
    if len(fields) < 2 or not fields[1].isdigit():
        raise DatasetError(f"{where}: '{' '.join(fields[:3])}' does not start with 'name N'; "
                           "expected 'name N x y w h 1 x y w h 1 ...'")
    count = int(fields[1])
    numbers = fields[2:]
    if len(numbers) != FIELDS_PER_FACE * count:
        raise DatasetError(f"{where}: count says {count} face(s) but {len(numbers)} numbers follow; "
                           f"expected {FIELDS_PER_FACE} numbers 'x y w h 1' per face ({FIELDS_PER_FACE * count})")
    try:
        values = np.array(numbers, dtype=np.float64).reshape(count, FIELDS_PER_FACE)
    except ValueError:
        raise DatasetError(f"{where}: non-numeric box field; expected numbers 'x y w h 1' per face") from None
    boxes = np.column_stack([values[:, 0], values[:, 1], values[:, 0] + values[:, 2], values[:, 1] + values[:, 3]])
    for box in boxes:
        check_box(box, where)
    return fields[0], boxes


def find_image_dir(path: Path, first_image: str) -> Optional[Path]:
    """The image folder for the label file `path` (rule in the module docstring), or None."""
    base = path.parent
    for folder in (base / "images", base / "image", base, base.parent / "images", base.parent / "image"):
        if (folder / first_image).is_file():
            return folder
    return None


def load_regdet(path: Path, require_images: bool = True) -> List[Sample]:
    """Samples of a REGDet label file; ids are the image names without extension.

    Raises:
        DatasetError: bad label lines, or (require_images) an image that cannot be found.
    """
    entries = read_regdet(path)
    searched = f"{path.parent / 'images'}, {path.parent / 'image'}, {path.parent} or {path.parent.parent / 'images'}"
    image_dir = find_image_dir(path, entries[0][1])
    return samples_from_entries([(f"{path}:{no}", name, boxes) for no, name, boxes in entries], image_dir,
                                searched, require_images)
