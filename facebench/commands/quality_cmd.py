"""`facebench quality`: PSNR / SSIM / PSNR-B of enhancers on paired images (the MLSM paper's Table III).

Per pair and QF: low image -> JPEG round trip at QF -> enhancer -> 8-bit quantisation -> metrics against
the high image (facebench.image_quality: PSNR and SSIM over RGB, PSNR-B = RGB MSE + BEF of the luma).
Numbers are means over the pairs; rows are enhancers, columns QF x metric.
"""
from __future__ import annotations

import csv
import io
from typing import Dict, List, Optional, Sequence, Tuple

import click
import numpy as np
import torch
from tqdm import tqdm

from facebench.checkpoint import CheckpointError
from facebench.commands.options import parse_enhancer_options, parse_qfs, parse_weights
from facebench.datasets.dataset import DatasetError
from facebench.degrade import QualityFactor, jpeg_roundtrip, qf_label
from facebench.image_quality import QualityMeter
from facebench.atomic import write_text_atomic
from facebench.pairs import ImagePair, find_pairs, read_pair
from facebench.plugin_api import Enhancer
from facebench.plugins import build_enhancers, resolve_enhancer_args
from facebench.registry import PluginError
from facebench.training import resolve_device
from facebench.weights import MissingWeightsError

METRICS = (("psnr", "PSNR"), ("ssim", "SSIM"), ("psnr_b", "PSNR-B"))


def enhance_uint8(enhancer: Enhancer, rgb: np.ndarray, device: torch.device) -> np.ndarray:
    """Run `enhancer` on one uint8 RGB [H, W, 3] image and quantise the result to uint8 RGB [H, W, 3]."""
    x = torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float() / 255.0
    with torch.inference_mode():
        y = enhancer.enhance(x)
    if y.shape != x.shape:
        raise RuntimeError(f"enhancer {enhancer.name!r} changed the image shape {tuple(x.shape)} -> {tuple(y.shape)}")
    return (y[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def measure(enhancers: Sequence[Enhancer], qfs: Sequence[QualityFactor], pairs: Sequence[ImagePair],
            device: torch.device, progress: bool = True) -> Dict[Tuple[str, QualityFactor], Dict[str, float]]:
    """{(enhancer name, qf): {"psnr", "ssim", "psnr_b", "count"}} averaged over `pairs`."""
    meters = {(e.name, qf): QualityMeter() for e in enhancers for qf in qfs}
    for pair in tqdm(pairs, desc="pairs", unit="pair", disable=not progress):
        low, high = read_pair(pair)
        for qf in qfs:
            degraded = jpeg_roundtrip(low, qf)
            for enhancer in enhancers:
                meters[(enhancer.name, qf)].process(enhance_uint8(enhancer, degraded, device), high)
    return {key: meter.evaluate() for key, meter in meters.items()}


def table_rows(enhancers: Sequence[Enhancer], qfs: Sequence[QualityFactor],
               results: Dict[Tuple[str, QualityFactor], Dict[str, float]]) -> List[Dict[str, object]]:
    """One row per enhancer: enhancer, weights_sha256, pairs, then '<metric>@<qf>' columns."""
    rows = []
    for enhancer in enhancers:
        weights = enhancer.weights.sha256 if enhancer.weights else ""
        row: Dict[str, object] = {"enhancer": enhancer.name, "weights_sha256": weights,
                                  "pairs": results[(enhancer.name, qfs[0])]["count"]}
        for qf in qfs:
            for key, _ in METRICS:
                row[f"{key}@{qf_label(qf)}"] = results[(enhancer.name, qf)][key]
        rows.append(row)
    return rows


def format_table(rows: List[Dict[str, object]], qfs: Sequence[QualityFactor]) -> str:
    """Plain-text table: a QF header line, a metric header line, one line per enhancer."""
    name_width = max(8, *(len(str(r["enhancer"])) for r in rows))
    group = " ".join(f"{label:>7}" for _, label in METRICS)
    lines = [" " * name_width + " | " + " | ".join(f"{'QF ' + qf_label(qf):^{len(group)}}" for qf in qfs),
             f"{'enhancer':<{name_width}} | " + " | ".join(group for _ in qfs)]
    for row in rows:
        cells = []
        for qf in qfs:
            values = [row[f"{key}@{qf_label(qf)}"] for key, _ in METRICS]
            cells.append(f"{values[0]:7.2f} {values[1]:7.4f} {values[2]:7.2f}")
        lines.append(f"{row['enhancer']:<{name_width}} | " + " | ".join(cells))
    return "\n".join(lines)


def _csv_text(rows: List[Dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


@click.command("quality")
@click.option("--enhancer", "enhancer_specs", multiple=True, required=True,
              help="Enhancer name, chain 'a+b', or module:Class (repeatable).")
@click.option("--qf", "qf_values", multiple=True, default=("90",), show_default=True,
              help="JPEG quality factor applied to the low image, or 'raw' (repeatable).")
@click.option("--pairs", "pairs_dir", type=click.Path(exists=True, file_okay=False), required=True,
              help="Folder with low/ and high/ images of the same names (e.g. SICE part 1).")
@click.option("--weights", "weights_values", multiple=True,
              help="Weights file PATH (single enhancer) or NAME=PATH (repeatable).")
@click.option("--enhancer-opt", "enhancer_opt", multiple=True,
              help="Enhancer setting [NAME.]KEY=VALUE (JSON value), repeatable, e.g. sci.variant=easy.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N pairs.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the table as CSV to this file.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def quality_cmd(enhancer_specs, qf_values, pairs_dir, weights_values, enhancer_opt, device, limit: Optional[int],
                out, progress: bool):
    """PSNR / SSIM / PSNR-B of enhancers on paired images after JPEG compression at each QF."""
    qfs = parse_qfs(qf_values)
    try:
        torch_device = resolve_device(device)
    except (ValueError, RuntimeError) as exc:
        raise click.BadParameter(str(exc), param_hint="--device") from None
    specs = list(dict.fromkeys(enhancer_specs))
    try:
        pairs = find_pairs(pairs_dir)[:limit]
        weights, options = resolve_enhancer_args(specs, parse_weights(weights_values),
                                                 parse_enhancer_options(enhancer_opt))
        enhancers = list(build_enhancers(specs, weights, str(torch_device), options).values())
        if len({e.name for e in enhancers}) != len(enhancers):
            raise click.UsageError("two --enhancer values produce the same enhancer name; give each once")
        results = measure(enhancers, qfs, pairs, torch_device, progress)
    except (DatasetError, PluginError, MissingWeightsError, CheckpointError) as exc:
        raise click.ClickException(str(exc)) from None
    rows = table_rows(enhancers, qfs, results)
    click.echo(f"{len(pairs)} pairs from {pairs_dir}; PSNR/PSNR-B in dB over RGB (PSNR-B: BEF on luma), "
               "SSIM 11x11 Gaussian sigma 1.5")
    click.echo(format_table(rows, qfs))
    if out:
        write_text_atomic(out, _csv_text(rows))
        click.echo(f"wrote {out}")
