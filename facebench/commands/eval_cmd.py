"""`facebench eval`: enhancers x QFs -> detector -> mAP at IoU 0.3/0.5/0.7, P-R curves, a run directory.

`none` is evaluated first (cached like every other enhancer) unless `--no-baseline`, so every run
prints the paired difference of each enhancer against it. Heavy modules (torch, the pipeline, the
metrics) are imported inside the command, so `facebench eval --help` stays fast.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import click

from facebench.commands.options import (data_options, parse_device, parse_enhancer_options, parse_ids, parse_qfs,
                                        parse_settings, parse_weights)

RESULTS_SCHEMA = "facebench.results/1"


def _run_dir(out: str, ctx) -> Path:
    """--out, or runs/<timestamp> chosen by rank 0 and shared with the other ranks."""
    import torch.distributed as dist

    chosen = [out or f"runs/{datetime.now().strftime('%Y%m%d-%H%M%S')}"]
    if ctx.enabled:
        dist.broadcast_object_list(chosen, src=0)
    return Path(chosen[0])


def _cache_line(runs: list, cache_root: Path) -> str:
    """'reused N cached images ...' when any (enhancer, QF, image) result came from the cache, else ''."""
    cached = sum(r["timings"]["images_cached"] for r in runs)
    computed = sum(r["timings"]["images_computed"] for r in runs)
    if not cached:
        return ""
    return (f"reused {cached} cached images (computed {computed}; enhancer x QF x image) from {cache_root}"
            " - pass another --cache-dir to recompute")


@click.command("eval")
@data_options
@click.option("--enhancer", "enhancers", multiple=True, default=(), show_default="none",
              help="Enhancer name, chain 'a+b', 'pkg.module:Class' or 'file.py:Class'. Repeat for a sweep.")
@click.option("--no-baseline", is_flag=True,
              help="Do not add the 'none' baseline; enhancers are then compared with the first one given.")
@click.option("--weights", multiple=True,
              help="Enhancer weights: PATH (one enhancer), or NAME=PATH for one enhancer of a sweep/chain.")
@click.option("--enhancer-opt", multiple=True,
              help="Enhancer setting [NAME.]KEY=VALUE (e.g. sci.variant=easy), repeatable; NAME may be the "
                   "plugin's own name.")
@click.option("--qf", "qfs", multiple=True, default=("90",), show_default=True,
              help="JPEG quality factor 1..100 or 'raw'. Repeat for a sweep.")
@click.option("--detector", default="retinaface", show_default=True, help="Detector name or 'module:Class'.")
@click.option("--detector-weights", type=click.Path(), help="Detector weights file.")
@click.option("--detector-opt", multiple=True, help="Detector setting KEY=VALUE (e.g. scale=2), repeatable.")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N")
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Images per enhancer/detector call [default: 4 with CUDA, 1 on the CPU].")
@click.option("--workers", type=click.IntRange(min=0),
              help="Decoding processes [default: 2 with CUDA; 0 on the CPU, where the networks already use "
                   "every core - see benchmarks/README.md].")
@click.option("--out", type=click.Path(), help="Run directory [default: runs/<timestamp>].")
@click.option("--cache-dir", type=click.Path(), help="Detection cache [default: $FACEBENCH_HOME/cache/detections].")
@click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(min=0),
              help="Bootstrap resamples for confidence intervals (0: none).")
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--save-enhanced", is_flag=True, help="Also write enhanced images (PNG) into the run directory.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def eval_cmd(data, limit, ids, enhancers, no_baseline, weights, enhancer_opt, qfs, detector, detector_weights,
             detector_opt, device, batch_size, workers, out, cache_dir, bootstrap, seed, save_enhanced, no_progress):
    """Evaluate enhancers x JPEG quality factors with a face detector (mAP at IoU 0.3 / 0.5 / 0.7)."""
    import torch

    from facebench.cache import default_cache_root
    from facebench.datasets import DatasetError, load_dataset
    from facebench.pipeline import PipelineSettings
    from facebench.plugins import build_detector, resolve_enhancer_args
    from facebench.registry import PluginError
    from facebench.sweep import SweepConfig, run_sweep, with_baseline
    from facebench.training import init_distributed
    from facebench.weights import MissingWeightsError

    started = time.perf_counter()
    qf_values = parse_qfs(qfs)
    user_specs = enhancers or ("none",)
    detector_settings = parse_settings(detector_opt, "--detector-opt")
    torch_device = parse_device(device)
    ctx = init_distributed(torch_device)
    if ctx.enabled and torch_device.type == "cuda":
        torch_device = torch.device("cuda", ctx.local_rank)
    try:
        weight_map, enhancer_options = resolve_enhancer_args(user_specs, parse_weights(weights),
                                                             parse_enhancer_options(enhancer_opt))
        dataset = load_dataset(data, limit=limit, ids=parse_ids(ids))
        det = build_detector(detector, detector_weights, device=str(torch_device), **detector_settings)
    except (DatasetError, PluginError, MissingWeightsError) as exc:
        raise click.ClickException(str(exc)) from None
    run_dir = _run_dir(out, ctx)
    if ctx.is_main and dataset.synthetic:
        click.echo(f"NOTE: no --data given: using the embedded SYNTHETIC dataset {dataset.name} "
                   f"({len(dataset)} images, {dataset.num_faces} faces) - not real dark photos.", err=True)
    specs = with_baseline(user_specs, baseline=not no_baseline)
    config = SweepConfig(enhancers=specs, qfs=tuple(qf_values), weights=weight_map, options=enhancer_options,
                         bootstrap=bootstrap, seed=seed, out=run_dir,
                         cache_root=Path(cache_dir) if cache_dir else default_cache_root())
    on_gpu = torch_device.type == "cuda"
    settings = PipelineSettings(batch_size=batch_size or (4 if on_gpu else 1),
                                workers=(2 if on_gpu else 0) if workers is None else workers,
                                progress=not no_progress, save_enhanced=run_dir / "enhanced" if save_enhanced else None)
    try:
        runs = run_sweep(dataset, det, config, settings, torch_device, shard=(ctx.rank, ctx.world_size))
    except (PluginError, MissingWeightsError, DatasetError) as exc:
        raise click.ClickException(str(exc)) from None
    if ctx.is_main:
        _write_run(run_dir, dataset, data, det, config, runs, ctx.world_size, torch_device, started)


def _write_run(run_dir: Path, dataset, data, det, config, runs: list, world_size: int, device, started: float) -> None:
    """results.json, results.csv and the P-R plots of a finished sweep; prints the table."""
    from facebench.atomic import write_json_atomic
    from facebench.degrade import qf_label
    from facebench.plotting import plot_runs
    from facebench.provenance import environment
    from facebench.report import dataset_record, format_table, plot_prefix, write_results_csv

    results = {
        "schema": RESULTS_SCHEMA,
        "synthetic_data": dataset.synthetic,
        "dataset": dataset_record(dataset, data),
        "detector": det.identity(),
        "qfs": [qf_label(q) for q in config.qfs],
        "enhancers": list(config.enhancers),
        "seed": config.seed,
        "bootstrap_resamples": config.bootstrap,
        "world_size": world_size,
        "command": " ".join(["facebench"] + sys.argv[1:]),
        "environment": environment(device),
        "runs": runs,
        "wall_time_s": time.perf_counter() - started,
    }
    write_json_atomic(run_dir / "results.json", results)
    write_results_csv(run_dir / "results.csv", results)
    by = "enhancer" if len(config.enhancers) > 1 else "qf"
    plots = plot_runs([results], plot_prefix(run_dir, "official"), iou=0.5, by=by, protocol="official")
    cache_line = _cache_line(runs, config.cache_root)
    if cache_line:
        click.echo(cache_line)
    click.echo(format_table(results))
    click.echo(f"run directory: {run_dir}  (results.json, results.csv, {', '.join(p.name for p in plots)})")
