"""Pixels for the report's image strips: one image's degraded input and each enhancer's output at a QF.

The degraded input is re-created from the dataset path in results.json (the JPEG round trip is
deterministic); the dataset must still hash to the recorded content_sha256. An enhanced image is the PNG
`facebench eval --save-enhanced` wrote when present (the exact pixels the detector saw); otherwise it is
re-created by running the enhancer spec recorded in results.json on the degraded image, and only when
the re-created enhancer's identity (name, settings, weights sha256) equals the recorded one.
"""
from __future__ import annotations

import json
from typing import Dict, Optional, Union

import numpy as np
import torch

from facebench.datasets import FaceDataset, read_image
from facebench.degrade import jpeg_roundtrip, parse_qf
from facebench.pipeline import quantize, to_tensor
from facebench.plugin_api import Enhancer
from facebench.plugins import build_enhancer, split_chain
from facebench.registry import PluginError
from facebench.run_dirs import RunDir, RunDirError
from facebench.weights import MissingWeightsError


class StripSourceError(RuntimeError):
    """An image or enhancer a strip needs is not available; the message says why."""


def _comparable(identity: dict) -> dict:
    """An enhancer identity as stored in JSON (tuples become lists), without the weights' path (a moved
    file with the same sha256 is the same file)."""
    identity = json.loads(json.dumps(identity))
    if "chain" in identity:
        return {"name": identity["name"], "chain": [_comparable(p) for p in identity["chain"]]}
    weights = identity.get("weights")
    return {"name": identity["name"], "settings": identity.get("settings"),
            "weights": weights and {"sha256": weights["sha256"]}}


def _rebuild(spec: str, recorded: dict, device: str) -> Enhancer:
    """The enhancer `spec` rebuilt with the default weights, else the recorded weights and settings."""
    parts = split_chain(spec)
    records = recorded["chain"] if "chain" in recorded else [recorded]
    weights = {(p if len(parts) > 1 else ""): r["weights"]["path"] for p, r in zip(parts, records) if r.get("weights")}
    options = {(p if len(parts) > 1 else ""): r.get("settings") or {} for p, r in zip(parts, records)}
    problem = "differs from the one recorded in results.json (settings or weights sha256)"
    for attempt in ({}, {"weights": weights, "options": options}):
        try:
            enhancer = build_enhancer(spec, device=device, **attempt)
        except (PluginError, MissingWeightsError) as exc:
            problem = f"cannot be built ({exc})"
            continue
        if _comparable(enhancer.identity()) == _comparable(recorded):
            return enhancer
    raise StripSourceError(f"enhancer {spec!r} re-created here {problem}; "
                           "run 'facebench eval --save-enhanced' to keep its images")


class StripSource:
    """Degraded and enhanced images of one run directory, re-created or read as described above.

    Args:
        run: the run directory.
        device: where re-created enhancers run ('cpu', 'cuda').
    """

    def __init__(self, run: RunDir, device: str = "cpu") -> None:
        self.run = run
        self.device = device
        self._dataset: Optional[FaceDataset] = None
        self._enhancers: Dict[str, Union[Enhancer, str]] = {}

    def dataset(self) -> FaceDataset:
        """The run's dataset restricted to the evaluated images, checked against the recorded hash."""
        if self._dataset is None:
            try:
                self._dataset = self.run.dataset()
            except RunDirError as exc:
                raise StripSourceError(f"{exc}; images cannot be shown") from None
        return self._dataset

    def ground_truth(self) -> Dict[str, np.ndarray]:
        """image id -> float64 [M, 4] (x1, y1, x2, y2) in pixels."""
        return {s.image_id: np.asarray(s.boxes) for s in self.dataset().samples}

    def degraded(self, qf: str, image_id: str) -> np.ndarray:
        """uint8 RGB [H, W, 3]: the image after the JPEG round trip at `qf` (the enhancers' input)."""
        sample = next(s for s in self.dataset().samples if s.image_id == image_id)
        return jpeg_roundtrip(read_image(sample.image_path), parse_qf(qf))

    def enhanced(self, qf: str, spec: str, image_id: str) -> np.ndarray:
        """uint8 RGB [H, W, 3]: the enhancer's 8-bit output, as the detector saw it.

        Raises:
            StripSourceError: no saved PNG and the enhancer cannot be re-created identically.
        """
        saved = self.run.enhanced_path(qf, spec, image_id)
        if saved is not None:
            return read_image(saved)
        enhancer = self._enhancer(spec)
        with torch.inference_mode():
            batch = to_tensor([self.degraded(qf, image_id)], torch.device(self.device))
            out = quantize(enhancer.enhance(batch))[0]
        return out.mul(255.0).round().byte().permute(1, 2, 0).cpu().numpy()

    def _enhancer(self, spec: str) -> Enhancer:
        if spec not in self._enhancers:
            recorded = next(r["enhancer"] for r in self.run.results["runs"] if r["enhancer_spec"] == spec)
            try:
                self._enhancers[spec] = _rebuild(spec, recorded, self.device)
            except StripSourceError as exc:
                self._enhancers[spec] = str(exc)
        found = self._enhancers[spec]
        if isinstance(found, str):
            raise StripSourceError(found)
        return found
