"""A cache of detections, keyed by everything that changes them, so reruns and interrupted sweeps resume.

Key = sha256 of the canonical JSON of: dataset content hash, QF, enhancer identity (name, settings,
weights sha256), detector identity (name, settings, weights sha256), facebench version and the
pipeline's own settings that change pixels (quantisation). Each key owns a folder
`<cache_root>/<key[:16]>/` holding `key.json` (the inputs, human-readable) and one `<image_id>.npy`
per finished image (float64 [N, 5], written atomically), so a killed run loses at most one batch.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

import numpy as np

from facebench.atomic import atomic_path, write_text_atomic
from facebench.weights import facebench_home


def default_cache_root() -> Path:
    """`$FACEBENCH_HOME/cache/detections`."""
    return facebench_home() / "cache" / "detections"


def cache_key(parts: Dict[str, Any]) -> str:
    """sha256 hex of the canonical (sorted-key) JSON of `parts`."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _safe_name(image_id: str) -> str:
    return image_id.replace(os.sep, "__")


class DetectionCache:
    """Per-image detections for one cache key.

    Args:
        root: cache root folder.
        parts: the key's inputs (stored next to the entries for inspection).
    """

    def __init__(self, root: "str | Path", parts: Dict[str, Any]):
        self.key = cache_key(parts)
        self.folder = Path(root) / self.key[:16]
        self.folder.mkdir(parents=True, exist_ok=True)
        key_file = self.folder / "key.json"
        if not key_file.exists():
            write_text_atomic(key_file, json.dumps(parts, sort_keys=True, indent=1, default=str))

    def _path(self, image_id: str) -> Path:
        return self.folder / f"{_safe_name(image_id)}.npy"

    def get(self, image_id: str) -> Optional[np.ndarray]:
        """Detections [N, 5] for `image_id`, or None when not computed yet."""
        path = self._path(image_id)
        return np.load(path, allow_pickle=False) if path.exists() else None

    def put(self, image_id: str, detections: np.ndarray) -> None:
        """Store detections float64 [N, 5] for `image_id` atomically."""
        with atomic_path(self._path(image_id)) as tmp, open(tmp, "wb") as f:
            np.save(f, np.asarray(detections, dtype=np.float64).reshape(-1, 5), allow_pickle=False)

    def missing(self, image_ids: Iterable[str]) -> list:
        """The ids without a stored entry, in the given order."""
        return [i for i in image_ids if not self._path(i).exists()]

