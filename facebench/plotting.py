"""Figures drawn from results.json dictionaries, shared by `facebench plot`, `eval` and `report`.

Figures: precision-recall curves with AP in the legend (the MLSM paper's Fig. 11), AP@0.3/0.5/0.7
against the JPEG quality factor with CI bands, COCO AP by face size, and a forest plot of the paired
differences against the baseline (the run's first enhancer). Nothing here computes a metric: every
number comes from the dictionaries `facebench eval` wrote.

Axes fit the data (recall on DARK FACE rarely passes 0.5, so the recall axis ends just past the
largest recall reached), and legends sit outside the axes, so they never cover a curve.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import matplotlib.ticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from facebench.evaluation import IOU_THRESHOLDS, ap_entry, difference_entry  # noqa: E402

_PALETTE = plt.get_cmap("tab20").colors[::2] + plt.get_cmap("tab20").colors[1::2]


def enhancer_colors(specs: Sequence[str]) -> Dict[str, tuple]:
    """A fixed colour per enhancer spec in the given order (the baseline, first, is black)."""
    return {spec: (0.0, 0.0, 0.0, 1.0) if i == 0 else _PALETTE[(i - 1) % len(_PALETTE)] for i, spec in enumerate(specs)}


def short_name(spec: str) -> str:
    """An enhancer spec as figures show it: 'path/to/my_enhancer.py:Cls' -> 'my_enhancer.py:Cls'."""
    return spec.split("/")[-1]


def qf_order(labels: Sequence[str]) -> List[str]:
    """QF labels from the least to the most compressed: 'raw' first, then descending quality factors."""
    unique = list(dict.fromkeys(labels))
    return sorted(unique, key=lambda q: -1 if q == "raw" else 101 - int(q))


def axis_limit(values: Sequence[Optional[float]], step: float = 0.1) -> float:
    """Upper axis limit just above the largest value (a multiple of `step`, at most 1, at least `step`)."""
    top = max([v for v in values if v is not None] or [0.0])
    return min(1.0, max(step, math.ceil(top * 1.05 / step - 1e-9) * step))


def _legend_outside(fig: Figure, ax, fontsize: int = 8) -> None:
    """The legend of `ax`'s lines to the right of every axes (constrained layout makes room for it)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=fontsize, loc="outside right upper")


def _qf_runs(results: dict) -> Dict[Tuple[str, str], dict]:
    return {(run["enhancer_spec"], run["qf"]): run for run in results["runs"]}


def _synthetic_note(results_list: Sequence[dict]) -> str:
    return " - SYNTHETIC data" if any(r["synthetic_data"] for r in results_list) else ""


def _max_recall(curves: Sequence[Tuple[str, dict, tuple]]) -> float:
    return max([max(entry["recall"], default=0.0) for _, entry, _ in curves] or [0.0])


def pr_figure(curves: Sequence[Tuple[str, dict, tuple]], title: str, recall_max: Optional[float] = None) -> Figure:
    """P-R curves, best AP first in the legend.

    Args:
        curves: (legend label, `ap_entry` dict, colour) per curve.
        title: axes title.
        recall_max: end of the recall axis (default: just past these curves' largest recall).
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    for label, entry, color in sorted(curves, key=lambda c: -c[1]["ap"]):
        ax.plot(entry["recall"], entry["precision"], lw=1.6, color=color, label=f"{label} (AP {entry['ap']:.4f})")
    ax.set(xlim=(0, recall_max or axis_limit([_max_recall(curves)])), ylim=(0, 1.02), xlabel="Recall",
           ylabel="Precision", title=title)
    ax.grid(alpha=0.3)
    _legend_outside(fig, ax)
    return fig


def _pr_groups(results_list: Sequence[dict], protocol: str, iou: float, by: str) -> Dict[str, list]:
    """figure title -> [(label, AP entry, colour)], grouped by QF (by='enhancer') or enhancer (by='qf')."""
    specs = list(dict.fromkeys(s for r in results_list for s in r["enhancers"]))
    qfs = qf_order([q for r in results_list for q in r["qfs"]])
    colors = enhancer_colors(specs)
    qf_colors = dict(zip(qfs, _PALETTE))
    figures: Dict[str, list] = {}
    for results in results_list:
        for run in results["runs"]:
            entry = ap_entry(run["metrics"], protocol, iou)
            if by == "enhancer":
                spec = run["enhancer_spec"]
                title, label, color = f"QF {run['qf']}", short_name(spec), colors[spec]
            else:
                title, label, color = run["enhancer_spec"], f"QF {run['qf']}", qf_colors[run["qf"]]
            if len(results_list) > 1:
                label += f" [{results['detector']['name']}]"
                color = None
            figures.setdefault(title, []).append((label, entry, color))
    return figures


def pr_figures(results_list: Sequence[dict], iou: float = 0.5, by: str = "enhancer",
               protocol: str = "official") -> Dict[str, Figure]:
    """One P-R figure per QF (by='enhancer') or per enhancer (by='qf'), all with the same recall axis:
    group title -> figure."""
    if by not in ("enhancer", "qf"):
        raise ValueError(f"by={by!r}: expected 'enhancer' or 'qf'")
    note = _synthetic_note(results_list)
    groups = _pr_groups(results_list, protocol, iou, by)
    recall_max = axis_limit([_max_recall(curves) for curves in groups.values()])
    return {title: pr_figure(curves, f"{title}, IoU {iou} ({protocol}){note}", recall_max)
            for title, curves in groups.items()}


def ap_vs_qf_figure(results: dict, protocol: str = "official") -> Figure:
    """AP@0.3/0.5/0.7 against QF (one panel per IoU), a line per enhancer with its 95% CI as a band."""
    qfs, runs, colors = qf_order(results["qfs"]), _qf_runs(results), enhancer_colors(results["enhancers"])
    fig, axes = plt.subplots(1, len(IOU_THRESHOLDS), figsize=(4.0 * len(IOU_THRESHOLDS) + 1.8, 3.6), sharey=True,
                             layout="constrained")
    tops = []
    for ax, iou in zip(axes, IOU_THRESHOLDS):
        for k, spec in enumerate(results["enhancers"]):
            entries = [ap_entry(runs[(spec, q)]["metrics"], protocol, iou) for q in qfs]
            xs = range(len(qfs))
            if len(qfs) == 1:  # no line to draw: spread the points and show each CI as a bar
                x = 0.5 * (k + 0.5) / len(results["enhancers"]) - 0.25
                ci = entries[0]["ci"] or [entries[0]["ap"]] * 2
                ax.errorbar([x], [entries[0]["ap"]], yerr=[[entries[0]["ap"] - ci[0]], [ci[1] - entries[0]["ap"]]],
                            fmt="o", ms=4, lw=1.2, color=colors[spec], label=short_name(spec))
            else:
                ax.plot(xs, [e["ap"] for e in entries], marker="o", ms=4, lw=1.5, color=colors[spec],
                        label=short_name(spec))
            if len(qfs) > 1 and all(e["ci"] for e in entries):
                ax.fill_between(xs, [e["ci"][0] for e in entries], [e["ci"][1] for e in entries],
                                color=colors[spec], alpha=0.12, lw=0)
            tops += [e["ci"][1] if e["ci"] else e["ap"] for e in entries]
        ax.set(xticks=range(len(qfs)), xticklabels=qfs, xlabel="JPEG quality factor", title=f"AP@{iou:g}")
        ax.set_xlim(-0.3, len(qfs) - 0.7)
        ax.grid(alpha=0.3)
    axes[0].set(ylabel=f"AP ({protocol})", ylim=(0, axis_limit(tops, 0.05)))
    _legend_outside(fig, axes[-1])
    fig.suptitle(f"AP vs JPEG quality factor, 95% bootstrap CIs{_synthetic_note([results])}", fontsize=10)
    return fig


def _interval(cell: dict) -> Tuple[float, float]:
    """(low, high) of a size-bin cell's CI; the AP itself (0 for an empty bin) when there is none."""
    ap = cell["ap"] if cell["ap"] is not None else 0.0
    ci = cell["ci"] if cell["ci"] and None not in cell["ci"] else (ap, ap)
    return min(ci[0], ap), max(ci[1], ap)


def size_figure(results: dict, iou: float = 0.5) -> Figure:
    """COCO AP at `iou` by ground-truth face size sqrt(w*h): grouped bars with 95% CIs, a panel per QF."""
    qfs, runs, colors = qf_order(results["qfs"]), _qf_runs(results), enhancer_colors(results["enhancers"])
    bins = [b for b in results["runs"][0]["metrics"]["coco"]["size_bins"] if b != "all"]
    ncols = min(len(qfs), 3)
    nrows = math.ceil(len(qfs) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols + 1.8, 3.4 * nrows), sharey=True, squeeze=False,
                             layout="constrained")
    width = 0.8 / len(results["enhancers"])
    tops = []
    for ax, qf in zip(axes.flat, qfs):
        for k, spec in enumerate(results["enhancers"]):
            cells = [runs[(spec, qf)]["metrics"]["coco"]["iou"][f"{iou:g}"][b] for b in bins]
            xs = [i - 0.4 + width * (k + 0.5) for i in range(len(bins))]
            aps = [c["ap"] if c["ap"] is not None else 0.0 for c in cells]
            lows, highs = zip(*[_interval(c) for c in cells])
            errors = [[a - lo for a, lo in zip(aps, lows)], [hi - a for a, hi in zip(aps, highs)]]
            ax.bar(xs, aps, width, color=colors[spec], label=short_name(spec), yerr=errors,
                   error_kw={"lw": 0.7, "alpha": 0.6})
            tops += highs
        ax.set(xticks=range(len(bins)), xticklabels=[f"{b} px" for b in bins], title=f"QF {qf}")
        ax.grid(alpha=0.3, axis="y")
    for ax in axes.flat[len(qfs):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set(ylabel=f"COCO AP@{iou:g}", ylim=(0, axis_limit(tops, 0.05)))
    _legend_outside(fig, axes.flat[0])
    fig.suptitle(f"AP by face size sqrt(w*h){_synthetic_note([results])}", fontsize=10)
    return fig


def comparison_key(run: dict) -> Optional[str]:
    """The run's paired-comparison key ('vs_<baseline>'), or None (the baseline itself)."""
    return next((k for k in run if k.startswith("vs_")), None)


def forest_figure(results: dict, protocol: str = "official") -> Optional[Figure]:
    """Paired bootstrap differences AP(enhancer) - AP(baseline) with 95% CIs, a row per enhancer x QF and a
    panel per IoU; None when the run has no comparisons (a single enhancer)."""
    runs = _qf_runs(results)
    rows = [(spec, qf) for qf in qf_order(results["qfs"]) for spec in results["enhancers"]
            if comparison_key(runs[(spec, qf)])]
    if not rows:
        return None
    colors = enhancer_colors(results["enhancers"])
    baseline = comparison_key(runs[rows[0]])[3:]
    fig, axes = plt.subplots(1, len(IOU_THRESHOLDS), figsize=(4.0 * len(IOU_THRESHOLDS) + 1.6, 1.1 + 0.24 * len(rows)),
                             sharey=True, layout="constrained")
    ys = list(range(len(rows)))[::-1]
    for ax, iou in zip(axes, IOU_THRESHOLDS):
        diffs = [difference_entry(runs[row][comparison_key(runs[row])], protocol, iou) for row in rows]
        for y, (spec, _), d in zip(ys, rows, diffs):
            if d["ci_low"] is not None and d["ci_high"] is not None:  # None with `--bootstrap 0`
                ax.plot([d["ci_low"], d["ci_high"]], [y, y], color=colors[spec], lw=1.6)
            if d["diff"] is not None:
                ax.plot([d["diff"]], [y], "o", color=colors[spec], ms=4.5)
        extent = max([abs(v) for d in diffs for v in (d["ci_low"], d["ci_high"], d["diff"]) if v is not None] + [0.01])
        ax.set_xlim(-1.1 * extent, 1.1 * extent)
        ax.axvline(0.0, color="0.3", lw=0.8)
        ax.set(title=f"AP@{iou:g} difference", xlabel=f"AP - AP({baseline})")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5, symmetric=True))
        ax.grid(alpha=0.3, axis="x")
    axes[0].set(yticks=ys, yticklabels=[f"{short_name(spec)} @ QF {qf}" for spec, qf in rows],
                ylim=(-0.7, len(rows) - 0.3))
    fig.suptitle(f"Paired bootstrap vs {baseline} ({protocol}), 95% CI{_synthetic_note([results])}", fontsize=10)
    return fig


def save_figure(fig: Figure, stem: Path, suffixes: Sequence[str] = (".png", ".pdf")) -> List[Path]:
    """Write `fig` as `<stem><suffix>` for each suffix (legends outside the axes included), close it."""
    written = []
    for suffix in suffixes:
        path = stem.parent / (stem.name + suffix)
        fig.savefig(path, dpi=150, bbox_inches="tight")
        written.append(path)
    plt.close(fig)
    return written


def _file_part(title: str) -> str:
    return title.replace(" ", "").replace("/", "_").replace(":", "_")


def plot_runs(results_list: Sequence[dict], prefix: "str | Path", iou: float = 0.5, by: str = "enhancer",
              protocol: str = "official") -> List[Path]:
    """Draw one P-R figure per group; returns the written files (`<prefix>_iou0.5_<group>.png/.pdf`).

    Args:
        results_list: results.json dictionaries (one or several runs).
        by: 'enhancer' (one curve per enhancer, a figure per QF) or 'qf' (a curve per QF, a figure per enhancer).
        protocol: 'official' (DARK FACE tool) or 'coco'.
    """
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for title, fig in pr_figures(results_list, iou, by, protocol).items():
        written += save_figure(fig, prefix.parent / f"{prefix.name}_iou{iou}_{_file_part(title)}")
    return written


def plot_summary(results: dict, prefix: "str | Path", protocol: str = "official") -> List[Path]:
    """AP vs QF, AP by size and (with a baseline) the forest plot of one run: `<prefix>_{qf,size,forest}.png/.pdf`."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    figures = {"qf": ap_vs_qf_figure(results, protocol), "size": size_figure(results),
               "forest": forest_figure(results, protocol)}
    written = []
    for name, fig in figures.items():
        if fig is not None:
            written += save_figure(fig, prefix.parent / f"{prefix.name}_{name}")
    return written
