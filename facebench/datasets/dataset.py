"""The in-memory form every loader returns: `Sample` (one image + its boxes) and `FaceDataset`.

Boxes everywhere in this package: boxes (ndarray[M, 4], float64): (x1, y1, x2, y2) in pixels of the
image as stored on disk, x2 > x1 and y2 > y1, M >= 0 (an image with no face is valid).

Ignore regions (ndarray[K, 4], same format) are faces a dataset marks as not to be scored (WIDER FACE's
invalid faces): a detection on one is neither a hit nor a false positive, and they are not counted as
faces. `FaceDataset.ground_truth()` hands both to the metrics, the regions flagged in a fifth column.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np


class DatasetError(ValueError):
    """Bad dataset input; the message is one line: "path[:line]: what was wrong; expected ..."."""


@dataclass(frozen=True, eq=False)
class Sample:
    """One image and its ground-truth faces.

    Attributes:
        image_id: the image's name without extension ("1", "0--Parade/0_Parade_1_465"); predictions
            for it are written to `<image_id>.txt`.
        image_path: the image file, or None for a labels-only dataset.
        boxes (ndarray[M, 4], float64, read-only): (x1, y1, x2, y2) in pixels.
        ignore (ndarray[K, 4], float64, read-only): ignore regions (x1, y1, x2, y2) in pixels; K is
            usually 0.
    """

    image_id: str
    image_path: Optional[Path]
    boxes: np.ndarray
    ignore: np.ndarray = field(default_factory=lambda: _read_only(()))


def _read_only(boxes) -> np.ndarray:
    boxes = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    boxes.flags.writeable = False
    return boxes


def make_sample(image_id: str, image_path: Optional[Path], boxes: np.ndarray, ignore=()) -> Sample:
    """A Sample whose boxes and ignore regions are read-only float64 [M, 4] / [K, 4] copies."""
    return Sample(image_id=image_id, image_path=image_path, boxes=_read_only(boxes), ignore=_read_only(ignore))


@dataclass(frozen=True, eq=False)
class FaceDataset:
    """A list of samples in natural id order, plus where it came from.

    Attributes:
        name: human-readable name (folder or file name; synthetic sets say "(SYNTHETIC)").
        format: "darkface", "darkface-labels", "regdet", "wider", "coco" or "synthetic".
        root: the path the dataset was loaded from.
        samples: the selected samples, sorted by natural id order ("2" before "10").
        synthetic: True for generated data (never real faces in real scenes).
    """

    name: str
    format: str
    root: Path
    samples: List[Sample]
    synthetic: bool = False

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:
        return self.samples[index]

    @property
    def num_faces(self) -> int:
        """Total number of ground-truth boxes (ignore regions not included)."""
        return int(sum(len(s.boxes) for s in self.samples))

    def ground_truth(self) -> Dict[str, np.ndarray]:
        """The metrics' `gts`: image id -> float64 [M, 4] boxes, or [M + K, 5] (x1, y1, x2, y2, ignore flag
        0/1) for an image with K > 0 ignore regions (see facebench.metrics.inputs)."""
        gts = {}
        for s in self.samples:
            if len(s.ignore):
                flags = np.repeat([0.0, 1.0], [len(s.boxes), len(s.ignore)])[:, None]
                gts[s.image_id] = np.hstack([np.vstack([s.boxes, s.ignore]), flags])
            else:
                gts[s.image_id] = np.asarray(s.boxes)
        return gts

    def content_hash(self, full: bool = False) -> str:
        """sha256 (hex) of what the benchmark sees: ids, boxes, and each image's name and byte size.

        Boxes enter as little-endian float64 bytes. By default images enter by name and size, not
        content: hashing 6,000 PNGs takes milliseconds and a copied dataset (new mtimes) keeps its
        hash, but an in-place edit that keeps an image's byte size is not noticed. `full=True` also
        hashes every image's bytes (about 1 MB per DARK FACE image read from disk).
        """
        digest = hashlib.sha256(b"facebench-dataset-v1\0")
        for sample in self.samples:
            digest.update(sample.image_id.encode("utf-8") + b"\0")
            digest.update(np.ascontiguousarray(sample.boxes, dtype="<f8").tobytes())
            if len(sample.ignore):  # absent for most datasets, whose hashes stay what they were
                digest.update(b"ignore\0" + np.ascontiguousarray(sample.ignore, dtype="<f8").tobytes())
            if sample.image_path is not None:
                size = sample.image_path.stat().st_size
                digest.update(f"{sample.image_path.name}\0{size}\0".encode("utf-8"))
                if full:
                    digest.update(hashlib.sha256(sample.image_path.read_bytes()).digest())
            digest.update(b"\1")
        return digest.hexdigest()

def natural_key(text: str) -> tuple:
    """Sort key putting "2" before "10" and "img2" before "img10"; ties broken by the raw text."""
    parts = re.split(r"(\d+)", text)
    return tuple((int(p), p) if i % 2 else (0, p.lower()) for i, p in enumerate(parts)), text


def select(samples: Iterable[Sample], source: Path, limit: Optional[int] = None,
           ids: Optional[Sequence[str]] = None) -> List[Sample]:
    """Samples in natural id order, restricted to `ids` (all must exist), then the first `limit`.

    Raises:
        DatasetError: an id in `ids` is not in the dataset, or `limit` < 0.
    """
    ordered = sorted(samples, key=lambda s: natural_key(s.image_id))
    if ids is not None:
        wanted = set(ids)
        known = {s.image_id for s in ordered}
        unknown = sorted(wanted - known, key=natural_key)
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise DatasetError(f"{source}: unknown image id(s) {shown}; expected ids present in the dataset "
                               f"(e.g. {', '.join(s.image_id for s in ordered[:3])})")
        ordered = [s for s in ordered if s.image_id in wanted]
    if limit is not None:
        if limit < 0:
            raise DatasetError(f"{source}: limit {limit}; expected a count >= 0")
        ordered = ordered[:limit]
    return ordered
