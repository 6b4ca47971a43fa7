"""DARK FACE layout: `image/<id>.png` (or `images/`) + `label/<id>.txt`, or a folder of label files only.

Label file: first line N (number of faces), then N lines `x1 y1 x2 y2` (pixels). N = 0 is valid.
Every label needs an image and every image a label (when images are required). Labels-only
folders (`<id>.txt` files, e.g. ground truth for `facebench score`) give samples without images.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import numpy as np

from facebench.datasets.boxes import check_box, clip_to_image
from facebench.datasets.dataset import DatasetError, Sample, make_sample
from facebench.datasets.images import images_by_stem

IMAGE_DIRS = ("image", "images")
LABEL_DIRS = ("label", "labels")


def is_darkface(root: Path) -> bool:
    """True for a folder with a `label/` (or `labels/`) subfolder."""
    return _first_dir(root, LABEL_DIRS) is not None


def is_label_folder(root: Path) -> bool:
    """True for a folder that directly holds `<id>.txt` label files."""
    return root.is_dir() and any(p.suffix == ".txt" for p in root.iterdir())


def read_label_file(path: Path) -> np.ndarray:
    """Parse one DARK FACE label file.

    Returns:
        boxes (ndarray[N, 4], float64): (x1, y1, x2, y2) in pixels.

    Raises:
        DatasetError: "path:line: ..." for a bad count, a bad box line, or a count mismatch.
    """
    lines = [(i + 1, line.split()) for i, line in enumerate(path.read_text(encoding="utf-8").splitlines())]
    lines = [(no, fields) for no, fields in lines if fields]
    if not lines:
        raise DatasetError(f"{path}:1: empty label file; expected a first line with the number of faces")
    count_no, count_fields = lines[0]
    if len(count_fields) != 1 or not count_fields[0].isdigit():
        raise DatasetError(f"{path}:{count_no}: '{' '.join(count_fields)}' is not a face count; "
                           "expected a first line with one integer N >= 0")
    count = int(count_fields[0])
    boxes = [_parse_box(path, no, fields) for no, fields in lines[1:]]
    if len(boxes) != count:
        raise DatasetError(f"{path}:{count_no}: count says {count} face(s) but {len(boxes)} box line(s) follow; "
                           "expected exactly N lines 'x1 y1 x2 y2'")
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)



def label_text(boxes: np.ndarray) -> str:
    """The label file for boxes (ndarray[N, 4] x1, y1, x2, y2 pixels): N, then one `x1 y1 x2 y2` line per
    box; integer-valued coordinates are written without a decimal point."""
    return "".join([f"{len(boxes)}\n"] + [" ".join(f"{v:g}" for v in box) + "\n" for box in boxes])

def _parse_box(path: Path, line_no: int, fields: List[str]) -> List[float]:
    where = f"{path}:{line_no}"
    try:
        box = [float(v) for v in fields]
    except ValueError:
        box = []
    if len(box) != 4:
        raise DatasetError(f"{where}: '{' '.join(fields)}' is not a box; expected 4 numbers 'x1 y1 x2 y2'")
    check_box(box, where)
    return box


def load_darkface(root: Path, require_images: bool = True) -> List[Sample]:
    """Samples of a DARK FACE folder (`image/` + `label/`) or of a labels-only folder.

    Args:
        root: the dataset folder.
        require_images: when True, an `image/` folder must hold one image per label and no others.
            When False, images are attached (and boxes clipped) where present, else image_path is None.

    Raises:
        DatasetError: a label without image, an image without label, or a bad label file.
    """
    label_dir = _first_dir(root, LABEL_DIRS) or root
    image_dir = _first_dir(root, IMAGE_DIRS)
    labels = {p.stem: p for p in sorted(label_dir.glob("*.txt"))}
    if not labels:
        raise DatasetError(f"{label_dir}: no label files; expected <id>.txt files (first line N, then N lines x1 y1 x2 y2)")
    images = images_by_stem(image_dir) if image_dir is not None else {}
    if require_images:
        _check_pairs(root, label_dir, image_dir, labels, images)
    return [make_sample(image_id, images.get(image_id),
                        clip_to_image(read_label_file(path), images.get(image_id), str(path)))
            for image_id, path in labels.items()]


def _check_pairs(root: Path, label_dir: Path, image_dir: Optional[Path], labels: dict, images: dict) -> None:
    if image_dir is None:
        raise DatasetError(f"{root}: no image/ or images/ folder; expected image/<id>.png beside label/<id>.txt "
                           "(labels only are accepted where images are not needed, e.g. facebench score)")
    for image_id in labels:
        if image_id not in images:
            raise DatasetError(f"{labels[image_id]}: no image for id {image_id} in {image_dir}; "
                               f"expected {image_dir / image_id}.png (or .jpg)")
    for image_id in images:
        if image_id not in labels:
            raise DatasetError(f"{images[image_id]}: no label for this image; expected {label_dir / image_id}.txt")


def _first_dir(root: Path, names: tuple) -> Optional[Path]:
    for name in names:
        if (root / name).is_dir():
            return root / name
    return None
