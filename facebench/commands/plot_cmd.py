"""`facebench plot RUN_DIR...`: P-R curves with AP in the legend (the MLSM paper's Fig. 11)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from facebench.plotting import plot_runs


@click.command("plot")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--iou", default=0.5, show_default=True, type=click.Choice(["0.3", "0.5", "0.7"]), help="IoU threshold.")
@click.option("--by", default="enhancer", show_default=True, type=click.Choice(["enhancer", "qf"]),
              help="'enhancer': a curve per enhancer, one figure per QF; 'qf': a curve per QF, one figure per enhancer.")
@click.option("--protocol", default="official", show_default=True, type=click.Choice(["official", "coco"]))
@click.option("--out", type=click.Path(), help="Output prefix [default: <first RUN_DIR>/plot].")
def plot_cmd(run_dirs, iou, by, protocol, out):
    """Draw precision-recall curves from one or more run directories (PNG + PDF)."""
    results = []
    for run_dir in run_dirs:
        path = Path(run_dir) / "results.json"
        if not path.is_file():
            raise click.ClickException(f"{path}: not found; expected a run directory written by 'facebench eval'")
        try:
            results.append(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    written = plot_runs(results, Path(out) if out else Path(run_dirs[0]) / "plot", iou=float(iou), by=by,
                        protocol=protocol)
    for path in written:
        click.echo(str(path))
