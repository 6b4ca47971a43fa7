"""Learning curves of any facebench trainer's log.csv: one panel per column, raw rows and a running mean.

    python experiments/training_curves.py runs/nerco/log.csv --column loss_G --column loss_D \
        --column cycle_A --column cycle_B --out enhancers/nerco/learning_curve.png

Each panel plots the logged values against `step` (faint) and their mean over a window of `--window`
rows (solid). Columns missing from the log are a one-line error naming the file.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List, Sequence

import click
import numpy as np


def read_log(log: Path) -> List[Dict[str, float]]:
    """The rows of a trainer's CSV log in step order, values as floats (empty cells left out); a resumed run
    may log a step twice, and the last row of a step counts."""
    with log.open(newline="") as handle:
        rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]
    by_step = {row["step"]: row for row in rows}
    return [by_step[step] for step in sorted(by_step)]


def read_columns(log: Path, columns: Sequence[str]) -> Dict[str, np.ndarray]:
    """{'step': Array[N], column: Array[N] for each column} (float64) from a trainer's log.csv."""
    with log.open(newline="") as handle:
        header = next(csv.reader(handle), [])
    missing = [c for c in ("step", *columns) if c not in header]
    if missing:
        raise click.ClickException(f"{log}: no column {', '.join(missing)} (it has: {', '.join(header) or 'nothing'})")
    rows = read_log(log)
    return {c: np.array([row[c] for row in rows]) for c in ("step", *columns)}


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values at each position (fewer at the start); Array[N] -> Array[N]."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


@click.command()
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--column", "columns", multiple=True, required=True, help="Column to plot (repeatable).")
@click.option("--window", default=25, show_default=True, help="Rows in the running mean.")
@click.option("--title", default="", help="Figure title (default: the log's folder name).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PNG to write.")
def main(log: Path, columns: List[str], window: int, title: str, out: Path) -> None:
    """Draw LOG's COLUMNs against step into OUT."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = read_columns(log, columns)
    fig, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 2.8), squeeze=False)
    for ax, column in zip(axes[0], columns):
        ax.plot(data["step"], data[column], color="tab:blue", alpha=0.25, linewidth=0.6)
        ax.plot(data["step"], running_mean(data[column], window), color="tab:blue", linewidth=1.4)
        ax.set_title(column, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title or log.parent.name, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
