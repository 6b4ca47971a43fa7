"""A sweep: every (QF, enhancer) pair through the pipeline with one detector, then metrics.

`SweepConfig` is what the CLI parses into; `run_sweep` returns the results.json dictionary. Every
enhancer is built (its weights found) before any image is processed. Each enhancer after the first is
compared with the first (the `none` baseline unless the user opts out) on the same images: a paired
bootstrap, or the plain difference with `bootstrap=0`. Under torchrun every rank computes its shard of
each pair into the shared cache; rank 0 alone evaluates.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.distributed as dist

from facebench import __version__
from facebench.cache import DetectionCache
from facebench.datasets import FaceDataset
from facebench.degrade import QualityFactor, qf_label
from facebench.detections_io import write_detections
from facebench.evaluation import compare_runs, evaluate_detections, point_difference
from facebench.pipeline import EnhancerPass, PipelineSettings, collect, run_detection_passes
from facebench.plugin_api import Detector
from facebench.plugins import BASELINE, build_enhancers

PIPELINE_VERSION = "read-jpeg(opencv)-enhance-quantize8-detect/1"


@dataclass(frozen=True)
class SweepConfig:
    """Everything a sweep needs besides the dataset and the detector.

    Attributes:
        enhancers: enhancer specs ("none", "mlsm", "deblock+zerodce", "file.py:Class").
        qfs: JPEG quality factors (None = raw).
        weights: enhancer part name -> weights path (see `facebench.plugins.resolve_enhancer_args`).
        options: enhancer part name -> constructor settings.
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


def with_baseline(specs: Sequence[str], baseline: bool = True) -> Tuple[str, ...]:
    """The enhancers of a sweep: `none` first (added if absent) when `baseline`, else `specs` as given."""
    if not baseline:
        return tuple(specs)
    return (BASELINE,) + tuple(spec for spec in dict.fromkeys(specs) if spec != BASELINE)


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def run_sweep(dataset: FaceDataset, detector: Detector, config: SweepConfig, settings: PipelineSettings,
              device: torch.device, shard: Tuple[int, int] = (0, 1)) -> Optional[dict]:
    """Run every (QF, enhancer) pair; returns the `runs` part of results.json on rank 0, None elsewhere."""
    rank, _ = shard
    enhancers = build_enhancers(config.enhancers, config.weights, str(device), config.options)
    gts = dataset.ground_truth()
    runs: List[dict] = []
    for qf in config.qfs:
        per_qf: Dict[str, Dict[str, np.ndarray]] = {}
        jobs = [EnhancerPass(enhancers[spec], DetectionCache(config.cache_root, _cache_parts(
                    dataset, qf, enhancers[spec].identity(), detector)),
                    settings.save_enhanced / qf_label(qf) / _slug(spec) if settings.save_enhanced else None)
                for spec in config.enhancers]
        run_settings = PipelineSettings(settings.batch_size, settings.workers, None, settings.progress and rank == 0)
        pass_timings = run_detection_passes(dataset, qf, jobs, detector, run_settings, shard)  # one decode per QF
        _barrier()
        if rank != 0:
            continue
        for spec, job, timings in zip(config.enhancers, jobs, pass_timings):
            identity, cache = job.enhancer.identity(), job.cache
            dets = collect(dataset, cache)
            per_qf[spec] = dets
            write_detections(config.out / "detections" / qf_label(qf) / _slug(spec), dets)
            t0 = time.perf_counter()
            metrics = evaluate_detections(gts, dets, bootstrap=config.bootstrap, seed=config.seed)
            timings["metrics_s"] = time.perf_counter() - t0
            runs.append({"qf": qf_label(qf), "enhancer_spec": spec, "enhancer": identity,
                         "cache_key": cache.key, "timings": timings, "metrics": metrics})
        if len(per_qf) > 1:
            _compare_with_first(runs, qf_label(qf), config, gts, per_qf)
    return runs if rank == 0 else None


def _compare_with_first(runs: List[dict], qf: str, config: SweepConfig, gts: Dict[str, np.ndarray],
                        per_qf: Dict[str, Dict[str, np.ndarray]]) -> None:
    """Adds `vs_<first enhancer>` to every other run of this QF (paired bootstrap, or the plain difference)."""
    by_spec = {r["enhancer_spec"]: r for r in runs if r["qf"] == qf}
    baseline = config.enhancers[0]
    for spec in config.enhancers[1:]:
        if config.bootstrap:
            comparison = compare_runs(gts, per_qf[spec], per_qf[baseline], bootstrap=config.bootstrap,
                                      seed=config.seed)
        else:
            comparison = point_difference(by_spec[baseline]["metrics"], by_spec[spec]["metrics"])
        by_spec[spec]["vs_" + _slug(baseline)] = comparison


def _slug(spec: str) -> str:
    """A file-system-safe name for an enhancer spec ('path/x.py:Cls' -> 'x.py_Cls')."""
    return spec.split("/")[-1].replace(":", "_")
