"""`facebench report RUN_DIR... --out report.html`: one self-contained HTML report from run directories."""
from __future__ import annotations

import sys

import click

from facebench.atomic import write_text_atomic
from facebench.html_report import build_report
from facebench.run_dirs import RunDirError, open_run


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML file to write.")
@click.option("--score", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Draw (and count as found) detections whose detector score is at least this.")
@click.option("--device", default="cpu", show_default=True,
              help="Where enhancers run to re-create images the run did not save (--save-enhanced).")
@click.option("--no-strips", is_flag=True, help="Leave out the image strips (no dataset or enhancer needed).")
def report_cmd(run_dirs, out, score, device, no_strips):
    """One self-contained HTML report: tables, curves, image strips.

    The file embeds every image and opens from disk without a network.

    Reads run directories only: results.json, detections/, and enhanced/ PNGs when the run saved them;
    other enhanced images are re-created from the dataset and enhancer recorded in results.json.
    """
    try:
        runs = [open_run(d) for d in run_dirs]
        html = build_report(runs, score=score, device=device, strips=not no_strips,
                            command=" ".join(["facebench"] + sys.argv[1:]))
    except RunDirError as exc:
        raise click.ClickException(str(exc)) from None
    write_text_atomic(out, html)
    click.echo(f"report: {out} ({len(html) / 1e6:.1f} MB)")
