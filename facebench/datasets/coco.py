"""COCO-style json: `images` (id, file_name) + `annotations` (image_id, bbox [x, y, w, h], category_id).

The face category is the only category, or the one named "face" (case-insensitive); without a
`categories` list every annotation is a face. Crowd annotations (iscrowd = 1) are dropped. Images
without annotations are images with no face. Boxes become (x, y, x + w, y + h).

Where the images are: the first of `<dir>/images/`, `<dir>/`, `<dir>/../images/` (`<dir>` = the json's
folder) that holds the first listed image. Ids are the file names without extension. The json's
width/height are not used: boxes are clipped to the size in the image file's header.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from facebench.datasets.boxes import check_box
from facebench.datasets.dataset import DatasetError, Sample
from facebench.datasets.entries import Entry, samples_from_entries


def read_coco(path: Path) -> List[Entry]:
    """Parse the json into entries ("path: images[i]", file_name, boxes ndarray[N, 4] float64 x1,y1,x2,y2).

    Raises:
        DatasetError: invalid json ("path:line: ..."), missing keys, an unknown image id, a bad bbox.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}:{err.lineno}: invalid JSON ({err.msg}); expected a COCO json file") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise DatasetError(f"{path}: not a COCO json; expected an object with 'images' and 'annotations' lists")
    face_id = _face_category(path, data.get("categories"))
    names: Dict[object, str] = {}
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or not isinstance(image.get("file_name"), str):
            raise DatasetError(f"{path}: images[{i}] has no 'id' or 'file_name'; expected {{'id': 1, 'file_name': 'a.png'}}")
        names[image["id"]] = image["file_name"]
    boxes: Dict[object, list] = {image_id: [] for image_id in names}
    for i, ann in enumerate(data["annotations"]):
        where = f"{path}: annotations[{i}]"
        if not isinstance(ann, dict) or ann.get("image_id") not in names:
            raise DatasetError(f"{where}: image_id {ann.get('image_id') if isinstance(ann, dict) else None!r} "
                               "is not in 'images'; expected the id of a listed image")
        if (face_id is not None and ann.get("category_id") != face_id) or ann.get("iscrowd", 0):
            continue
        boxes[ann["image_id"]].append(_parse_bbox(ann.get("bbox"), where))
    return [(f"{path}: images[{i}]", names[image_id], np.array(boxes[image_id], dtype=np.float64).reshape(-1, 4))
            for i, image_id in enumerate(names)]


def _face_category(path: Path, categories: Optional[list]) -> Optional[object]:
    if categories is None:
        return None
    if len(categories) == 1:
        return categories[0].get("id")
    faces = [c.get("id") for c in categories if str(c.get("name", "")).lower() == "face"]
    if len(faces) != 1:
        shown = ", ".join(str(c.get("name")) for c in categories[:6])
        raise DatasetError(f"{path}: categories ({shown}) have no single 'face'; expected one category, "
                           "or one named 'face'")
    return faces[0]


def _parse_bbox(bbox: object, where: str) -> List[float]:
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: bbox {bbox!r} is not 4 numbers; expected [x, y, width, height]") from None
    box = [x, y, x + w, y + h]
    check_box(box, where)
    return box


def find_image_dir(path: Path, first_image: str) -> Optional[Path]:
    """The folder `file_name`s are relative to (rule in the module docstring), or None."""
    base = path.parent
    for folder in (base / "images", base, base.parent / "images"):
        if (folder / first_image).is_file():
            return folder
    return None


def load_coco(path: Path, require_images: bool = True) -> List[Sample]:
    """Samples of a COCO json.

    Raises:
        DatasetError: see `read_coco`, or (require_images) an image that cannot be found.
    """
    entries = read_coco(path)
    if not entries:
        raise DatasetError(f"{path}: 'images' is empty; expected at least one image")
    searched = f"{path.parent / 'images'}, {path.parent} or {path.parent.parent / 'images'}"
    return samples_from_entries(entries, find_image_dir(path, entries[0][1]), searched, require_images)
