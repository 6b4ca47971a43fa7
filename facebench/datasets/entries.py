"""Turning parsed label entries (REGDet, WIDER FACE, COCO) into Samples with their images."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from facebench.datasets.boxes import clip_to_image
from facebench.datasets.dataset import DatasetError, Sample, make_sample

Entry = Tuple[str, str, np.ndarray]  # ("file:line" it came from, image path relative to the image folder, boxes [N, 4])


def samples_from_entries(entries: Sequence[Entry], image_dir: Optional[Path], searched: str,
                         require_images: bool) -> List[Sample]:
    """One Sample per entry; ids are the image paths without extension.

    Args:
        entries: parsed entries, in file order.
        image_dir: the folder the image paths are relative to, or None when it was not found.
        searched: where the image folder was looked for, for the message.
        require_images: raise on a missing image (else the sample gets image_path None).

    Raises:
        DatasetError: "file:line: image ... not found; expected ..." (require_images only).
    """
    if image_dir is None and require_images:
        where, name, _ = entries[0]
        raise DatasetError(f"{where}: image {name} not found; expected it in {searched}")
    samples = []
    for where, name, boxes in entries:
        image_path = image_dir / name if image_dir is not None else None
        if image_path is not None and not image_path.is_file():
            if require_images:
                raise DatasetError(f"{where}: image {name} not found; expected {image_path}")
            image_path = None
        boxes = clip_to_image(boxes, image_path, where)
        samples.append(make_sample(Path(name).with_suffix("").as_posix(), image_path, boxes))
    return samples
