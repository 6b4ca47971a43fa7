"""A sweep: every (QF, enhancer) pair through the pipeline with one detector, then metrics.

`SweepConfig` is what the CLI parses into; `run_sweep` returns the results.json dictionary. Under
torchrun every rank computes its shard of each pair into the shared cache; rank 0 alone evaluates.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist

from facebench import __version__
from facebench.cache import DetectionCache
from facebench.datasets import FaceDataset
from facebench.degrade import QualityFactor, qf_label
from facebench.detections_io import write_detections
from facebench.evaluation import compare_runs, evaluate_detections
from facebench.pipeline import PipelineSettings, collect, run_detection
from facebench.plugin_api import Detector
from facebench.plugins import build_enhancer

PIPELINE_VERSION = "read-jpeg(opencv)-enhance-quantize8-detect/1"


@dataclass(frozen=True)
class SweepConfig:
    """Everything a sweep needs besides the dataset and the detector.

    Attributes:
        enhancers: enhancer specs ("none", "mlsm", "deblock+zerodce", "file.py:Class").
        qfs: JPEG quality factors (None = raw).
        weights: enhancer part name -> weights path ('' = for a single enhancer).
        options: enhancer part name -> constructor settings ('' = for a single enhancer).
        bootstrap: resamples for confidence intervals (0 = none).
        seed: bootstrap seed.
        cache_root: detection cache folder.
        out: run directory.
    """

    enhancers: Tuple[str, ...]
    qfs: Tuple[QualityFactor, ...]
    cache_root: Path
    out: Path
    weights: Dict[str, str] = field(default_factory=dict)
    options: Dict[str, Dict[str, object]] = field(default_factory=dict)
    bootstrap: int = 1000
    seed: int = 0


def _cache_parts(dataset: FaceDataset, qf: QualityFactor, enhancer_identity: dict, detector: Detector) -> dict:
    return {
        "dataset_sha256": dataset.content_hash(),
        "qf": qf_label(qf),
        "enhancer": enhancer_identity,
        "detector": detector.identity(),
        "pipeline": PIPELINE_VERSION,
        "facebench": __version__,
    }


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def run_sweep(dataset: FaceDataset, detector: Detector, config: SweepConfig, settings: PipelineSettings,
              device: torch.device, shard: Tuple[int, int] = (0, 1)) -> Optional[dict]:
    """Run every (QF, enhancer) pair; returns the `runs` part of results.json on rank 0, None elsewhere."""
    rank, _ = shard
    gts = {s.image_id: np.asarray(s.boxes) for s in dataset.samples}
    runs: List[dict] = []
    for qf in config.qfs:
        per_qf: Dict[str, Dict[str, np.ndarray]] = {}
        for spec in config.enhancers:
            enhancer = build_enhancer(spec, config.weights, device=str(device), options=config.options)
            identity = enhancer.identity()
            cache = DetectionCache(config.cache_root, _cache_parts(dataset, qf, identity, detector))
            enhanced_dir = settings.save_enhanced / qf_label(qf) / _slug(spec) if settings.save_enhanced else None
            run_settings = PipelineSettings(settings.batch_size, settings.workers, enhanced_dir,
                                            settings.progress and rank == 0)
            timings = run_detection(dataset, qf, enhancer, detector, cache, run_settings, shard)
            del enhancer
            _barrier()
            if rank != 0:
                continue
            dets = collect(dataset, cache)
            per_qf[spec] = dets
            write_detections(config.out / "detections" / qf_label(qf) / _slug(spec), dets)
            t0 = time.perf_counter()
            metrics = evaluate_detections(gts, dets, bootstrap=config.bootstrap, seed=config.seed)
            timings["metrics_s"] = time.perf_counter() - t0
            runs.append({"qf": qf_label(qf), "enhancer_spec": spec, "enhancer": identity,
                         "cache_key": cache.key, "timings": timings, "metrics": metrics})
        if rank == 0 and len(per_qf) > 1:
            baseline = config.enhancers[0]
            for spec in config.enhancers[1:]:
                run = next(r for r in runs if r["qf"] == qf_label(qf) and r["enhancer_spec"] == spec)
                run["vs_" + _slug(baseline)] = compare_runs(gts, per_qf[spec], per_qf[baseline],
                                                           bootstrap=config.bootstrap, seed=config.seed)
    return runs if rank == 0 else None


def _slug(spec: str) -> str:
    """A file-system-safe name for an enhancer spec ('path/x.py:Cls' -> 'x.py_Cls')."""
    return spec.split("/")[-1].replace(":", "_")
