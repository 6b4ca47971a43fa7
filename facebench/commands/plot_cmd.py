"""`facebench plot RUN_DIR...`: P-R curves (the MLSM paper's Fig. 11), AP vs QF, AP by size, forest plot."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("plot")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--iou", default=0.5, show_default=True, type=click.Choice(["0.3", "0.5", "0.7"]), help="IoU threshold.")
@click.option("--by", default="enhancer", show_default=True, type=click.Choice(["enhancer", "qf"]),
              help="'enhancer': a curve per enhancer, one figure per QF; 'qf': a curve per QF, one figure per enhancer.")
@click.option("--protocol", default="official", show_default=True, type=click.Choice(["official", "coco"]))
@click.option("--summary", is_flag=True,
              help="Also draw each run's AP vs QF, AP by face size and forest plot (<prefix>_{qf,size,forest}).")
@click.option("--out", type=click.Path(),
              help="Output prefix [default: <first RUN_DIR>/pr_<protocol>, the names eval uses].")
def plot_cmd(run_dirs, iou, by, protocol, summary, out):
    """Draw precision-recall curves from one or more run directories (PNG + PDF)."""
    from facebench.plotting import plot_runs, plot_summary
    from facebench.report import plot_prefix
    from facebench.run_dirs import RunDirError, read_results

    try:
        results = [read_results(run_dir) for run_dir in run_dirs]
    except RunDirError as exc:
        raise click.ClickException(str(exc)) from None
    prefix = Path(out) if out else plot_prefix(run_dirs[0], protocol)
    written = plot_runs(results, prefix, iou=float(iou), by=by, protocol=protocol)
    if summary:
        for k, result in enumerate(results):
            suffix = f"_run{k + 1}" if len(results) > 1 else ""
            written += plot_summary(result, prefix.parent / f"{prefix.name}{suffix}", protocol=protocol)
    for path in written:
        click.echo(str(path))
