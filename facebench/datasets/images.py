"""Image files: decoding to uint8 RGB, reading the size from the header, finding an image by id.

Pixels are used as stored (no EXIF rotation): label coordinates refer to the stored pixel grid.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple, Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from facebench.datasets.dataset import DatasetError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_EXPECTED = "expected an image file OpenCV can decode (" + ", ".join(IMAGE_SUFFIXES) + ")"


def read_image(path: Union[str, Path]) -> np.ndarray:
    """Decode an image file to uint8 RGB [H, W, 3].

    Grayscale is replicated to 3 channels, alpha is dropped (palette images arrive expanded),
    16-bit is scaled to 8 bit (round(v / 257)), float images are clipped to [0, 1] and scaled by 255.

    Raises:
        DatasetError: the file is missing or cannot be decoded (one line naming the file).
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise DatasetError(f"{path}: cannot read image ({err.strerror}); {_EXPECTED}") from None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise DatasetError(f"{path}: cannot decode image; {_EXPECTED}")
    return _to_rgb8(image)


def _to_rgb8(image: np.ndarray) -> np.ndarray:
    """OpenCV's decoded array (H, W[, C]) of any depth -> uint8 RGB [H, W, 3]."""
    if image.dtype == np.uint16:
        image = np.round(image.astype(np.float64) / 257.0).astype(np.uint8)
    elif image.dtype.kind == "f":
        image = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels in (1, 2):  # gray (+ alpha)
        return np.ascontiguousarray(np.repeat(image[:, :, :1], 3, axis=2))
    return np.ascontiguousarray(image[:, :, 2::-1])  # BGR(A) -> RGB


def image_size(path: Path) -> Tuple[int, int]:
    """(width, height) in pixels from the file header (does not decode the pixels).

    Raises:
        DatasetError: the file is missing or not an image.
    """
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError) as err:
        reason = getattr(err, "strerror", None) or "unknown format"
        raise DatasetError(f"{path}: cannot read image header ({reason}); {_EXPECTED}") from None


def images_under(folder: Union[str, Path]) -> List[Path]:
    """Image files anywhere under `folder` (recursive), sorted by path; [] when there are none."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def images_by_stem(folder: Path) -> Dict[str, Path]:
    """{file name without extension: path} for the image files directly inside `folder`.

    Raises:
        DatasetError: two images share a name ("1.png" and "1.jpg").
    """
    found: Dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            if path.stem in found:
                raise DatasetError(f"{path}: a second image for id {path.stem} (also {found[path.stem].name}); "
                                   "expected one image per id")
            found[path.stem] = path
    return found
