"""Reading a run directory written by `facebench eval` (the only input of `plot` and `report`).

Layout:
    results.json                                   the metrics and their provenance
    detections/<qf>/<enhancer slug>/<image_id>.txt one file per evaluated image (official format)
    enhanced/<qf>/<enhancer slug>/<image_id>.png   only with `facebench eval --save-enhanced`

<qf> is the QF label ('90', 'raw'); the slug is the enhancer spec made file-system safe.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from facebench.datasets import DatasetError, FaceDataset, load_dataset
from facebench.datasets.dataset import natural_key
from facebench.detections_io import read_detections
from facebench.sweep import _slug as enhancer_slug


class RunDirError(ValueError):
    """A run directory that cannot be read; the message names the file and what was expected."""


def read_results(run_dir: "str | Path") -> dict:
    """The results.json dictionary of `run_dir`.

    Raises:
        RunDirError: results.json missing or not valid JSON.
    """
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise RunDirError(f"{path}: not found; expected a run directory written by 'facebench eval'")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


@dataclass(frozen=True)
class RunDir:
    """A run directory and its results.json.

    Attributes:
        path: the directory.
        results: the parsed results.json.
    """

    path: Path
    results: dict

    def detections(self, qf: str, spec: str) -> Dict[str, np.ndarray]:
        """image id -> float64 [N, 5] (x1, y1, x2, y2, score) in pixels, for every evaluated image.

        Raises:
            RunDirError: the run has no detections folder for (qf, spec).
        """
        folder = self.path / "detections" / qf / enhancer_slug(spec)
        try:
            return read_detections(folder)
        except FileNotFoundError:
            raise RunDirError(f"{folder}: detections folder not found; expected <image_id>.txt files written "
                              f"by 'facebench eval' for enhancer {spec!r} at QF {qf}") from None

    def image_ids(self) -> List[str]:
        """The evaluated images' ids in natural order (from the first run's detection files)."""
        first = self.results["runs"][0]
        return sorted(self.detections(first["qf"], first["enhancer_spec"]), key=natural_key)

    def dataset(self) -> FaceDataset:
        """The run's dataset restricted to the evaluated images, checked against the recorded content hash.

        Raises:
            RunDirError: the dataset cannot be read, or it changed since the run.
        """
        record = self.results["dataset"]
        try:
            dataset = load_dataset(record["path"], ids=self.image_ids())
        except DatasetError as exc:
            raise RunDirError(f"dataset of the run not readable: {exc}") from None
        if dataset.content_hash() != record["content_sha256"]:
            raise RunDirError(f"{record['path']}: the dataset changed since the run (content sha256 differs "
                              "from results.json)")
        return dataset

    def enhanced_path(self, qf: str, spec: str, image_id: str) -> Optional[Path]:
        """The PNG `--save-enhanced` wrote for this image, or None."""
        path = self.path / "enhanced" / qf / enhancer_slug(spec) / f"{image_id}.png"
        return path if path.is_file() else None


def open_run(run_dir: "str | Path") -> RunDir:
    """A RunDir for `run_dir` (results.json read and checked to have runs)."""
    results = read_results(run_dir)
    if not results.get("runs"):
        raise RunDirError(f"{Path(run_dir) / 'results.json'}: no runs recorded; expected at least one enhancer x QF")
    return RunDir(path=Path(run_dir), results=results)
