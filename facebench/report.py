"""Human-facing results: the Table VII-shaped text table, results.csv rows, the dataset record."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import List, Optional

from facebench.datasets import FaceDataset
from facebench.evaluation import IOU_THRESHOLDS, PROTOCOLS, ap_entry, difference_entry
from facebench.atomic import write_text_atomic

CSV_FIELDS = ["dataset", "synthetic", "detector", "enhancer", "qf", "iou", "protocol", "ap", "ci_low", "ci_high",
              "diff_vs_baseline", "diff_ci_low", "diff_ci_high", "images", "faces", "cache_key"]


def plot_prefix(folder: "str | Path", protocol: str) -> Path:
    """Where `eval` and `plot` write P-R figures: `<folder>/pr_<protocol>` (files `pr_<protocol>_iou0.5_QF90.png`)."""
    return Path(folder) / f"pr_{protocol}"


def dataset_record(dataset: FaceDataset, given_path: Optional[str]) -> dict:
    """The dataset part of results.json: path, format, counts and content hash."""
    return {
        "name": dataset.name,
        "path": str(Path(given_path).resolve()) if given_path else str(dataset.root),
        "format": dataset.format,
        "images": len(dataset),
        "faces": dataset.num_faces,
        "content_sha256": dataset.content_hash(),
        "synthetic": dataset.synthetic,
    }


def _comparison(run: dict) -> Optional[dict]:
    return next((v for k, v in run.items() if k.startswith("vs_")), None)


def result_rows(results: dict) -> List[dict]:
    """One row per enhancer x QF x IoU x protocol."""
    rows = []
    for run in results["runs"]:
        comparison = _comparison(run)
        for protocol in PROTOCOLS:
            for iou in IOU_THRESHOLDS:
                entry = ap_entry(run["metrics"], protocol, iou)
                diff = difference_entry(comparison, protocol, iou) if comparison else None
                ci = entry["ci"] or [None, None]
                rows.append({
                    "dataset": results["dataset"]["name"], "synthetic": results["synthetic_data"],
                    "detector": results["detector"]["name"], "enhancer": run["enhancer_spec"], "qf": run["qf"],
                    "iou": iou, "protocol": protocol, "ap": entry["ap"], "ci_low": ci[0], "ci_high": ci[1],
                    "diff_vs_baseline": diff["diff"] if diff else None,
                    "diff_ci_low": diff["ci_low"] if diff else None, "diff_ci_high": diff["ci_high"] if diff else None,
                    "images": results["dataset"]["images"], "faces": results["dataset"]["faces"],
                    "cache_key": run["cache_key"],
                })
    return rows


def write_results_csv(path: "str | Path", results: dict) -> None:
    """results.csv: `result_rows` with a header, written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for row in result_rows(results):
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else ("" if v is None else v)) for k, v in row.items()})
    write_text_atomic(path, buffer.getvalue())


def _fmt(ap: Optional[float]) -> str:
    """An AP with 4 decimals; "  n/a " when undefined (no ground-truth faces)."""
    return "  n/a " if ap is None else f"{ap:.4f}"


def _verdict(spec: str, baseline: str, ci_low: float, ci_high: float) -> str:
    """What a paired bootstrap interval says, in words: better / worse / no clear difference."""
    if ci_low > 0:
        return f"{spec} is better than {baseline} (95% CI above 0)"
    if ci_high < 0:
        return f"{spec} is worse than {baseline} (95% CI below 0)"
    return "no clear difference (95% CI contains 0)"


def format_difference(spec: str, baseline: str, qf: str, diff: dict) -> str:
    """One line of the paired comparison: the difference, and with a bootstrap its interval and verdict."""
    text = f"  {spec} - {baseline} @ QF {qf}: "
    if diff["diff"] is None:
        return text + "n/a (no ground-truth faces)"
    text += f"{diff['diff']:+.4f}"
    if diff["ci_low"] is None:
        return text
    return (f"{text}  95% CI [{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}]  sign flips in "
            f"{100 * diff['sign_flip_fraction']:.1f}% of resamples  -> "
            f"{_verdict(spec, baseline, diff['ci_low'], diff['ci_high'])}")


def format_table(results: dict) -> str:
    """The MLSM paper's Table VII shape: rows = enhancers, columns = QF x mAP@{0.3, 0.5, 0.7}, per protocol."""
    qfs = results["qfs"]
    lines = []
    if results["synthetic_data"]:
        lines.append("*** SYNTHETIC data: numbers say nothing about real dark photos ***")
    lines.append(f"dataset {results['dataset']['name']}: {results['dataset']['images']} images, "
                 f"{results['dataset']['faces']} faces; detector {results['detector']['name']}")
    by_key = {(r["enhancer_spec"], r["qf"]): r for r in results["runs"]}
    width = max([len("enhancer")] + [len(e) for e in results["enhancers"]])
    for protocol, title in (("official", "official DARK FACE protocol"), ("coco", "COCO-style (pycocotools)")):
        lines.append(f"\nmAP, {title}; " + ("[95% bootstrap CI of the IoU 0.5 AP]" if results.get("bootstrap_resamples")
                                             else "(no intervals: --bootstrap 0)"))
        header = f"{'enhancer':<{width}}" + "".join(f" | QF {qf:>3}: @0.3   @0.5   @0.7  [CI @0.5]    " for qf in qfs)
        lines.append(header)
        lines.append("-" * len(header))
        for spec in results["enhancers"]:
            cells = []
            for qf in qfs:
                metrics = by_key[(spec, qf)]["metrics"]
                aps = [_fmt(ap_entry(metrics, protocol, iou)["ap"]) for iou in IOU_THRESHOLDS]
                ci = ap_entry(metrics, protocol, 0.5)["ci"]
                ci_text = f"[{ci[0]:.4f},{ci[1]:.4f}]" if ci and None not in ci else " " * 15
                cells.append(" | QF {:>3}: {} {} {} {}".format(qf, *aps, ci_text))
            lines.append(f"{spec:<{width}}" + "".join(cells))
    lines.append("\nCOCO AP@0.5 by ground-truth face size sqrt(w*h), pixels:")
    for run in results["runs"]:
        coco = run["metrics"]["coco"]
        cells = [f"{label} {_fmt(coco['iou']['0.5'][label]['ap'])}" for label in coco["size_bins"] if label != "all"]
        lines.append(f"  {run['enhancer_spec']:<{width}} QF {run['qf']:>3}: " + "  ".join(cells))
    diffs = [(r["enhancer_spec"], r["qf"], v) for r in results["runs"] for k, v in r.items() if k.startswith("vs_")]
    if diffs:
        baseline = results["enhancers"][0]
        how = "paired bootstrap over images" if results.get("bootstrap_resamples") else "no interval: --bootstrap 0"
        lines.append(f"\nofficial AP@0.5 difference vs {baseline} on the same images ({how}):")
        for spec, qf, comparison in diffs:
            lines.append(format_difference(spec, baseline, qf, difference_entry(comparison, "official", 0.5)))
    return "\n".join(lines)
