"""Precision-recall figures like the MLSM paper's Fig. 11, with AP in the legend (PNG and PDF)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)

from facebench.evaluation import ap_entry  # noqa: E402


def _curves(results_list: Sequence[dict], protocol: str, iou: float, by: str) -> Dict[str, List[Tuple[str, dict]]]:
    """figure title -> [(legend label, AP entry)] grouping runs by QF (by='enhancer') or enhancer (by='qf')."""
    figures: Dict[str, List[Tuple[str, dict]]] = {}
    for results in results_list:
        for run in results["runs"]:
            entry = ap_entry(run["metrics"], protocol, iou)
            if by == "enhancer":
                title, label = f"QF {run['qf']}", run["enhancer_spec"]
            else:
                title, label = run["enhancer_spec"], f"QF {run['qf']}"
            if len(results_list) > 1:
                label += f" [{results['detector']['name']}]"
            figures.setdefault(title, []).append((label, entry))
    return figures


def plot_runs(results_list: Sequence[dict], prefix: "str | Path", iou: float = 0.5, by: str = "enhancer",
              protocol: str = "official") -> List[Path]:
    """Draw one P-R figure per group; returns the written files (`<prefix>_iou0.5_<group>.png/.pdf`).

    Args:
        results_list: results.json dictionaries (one or several runs).
        by: 'enhancer' (one curve per enhancer, a figure per QF) or 'qf' (a curve per QF, a figure per enhancer).
        protocol: 'official' (DARK FACE tool) or 'coco'.
    """
    if by not in ("enhancer", "qf"):
        raise ValueError(f"by={by!r}: expected 'enhancer' or 'qf'")
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    written = []
    synthetic = any(r["synthetic_data"] for r in results_list)
    for title, curves in _curves(results_list, protocol, iou, by).items():
        fig, ax = plt.subplots(figsize=(5.2, 4.4))
        for label, entry in sorted(curves, key=lambda c: -c[1]["ap"]):
            ax.plot(entry["recall"], entry["precision"], lw=1.6, label=f"{label} (AP {entry['ap']:.4f})")
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="Recall", ylabel="Precision",
               title=f"{title}, IoU {iou} ({protocol}){' - SYNTHETIC data' if synthetic else ''}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
        fig.tight_layout()
        stem = f"{prefix.name}_iou{iou}_{title.replace(' ', '').replace('/', '_').replace(':', '_')}"
        for suffix in (".png", ".pdf"):
            path = prefix.parent / (stem + suffix)
            fig.savefig(path, dpi=150)
            written.append(path)
        plt.close(fig)
    return written
