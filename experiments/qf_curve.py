"""AP against the JPEG quality factor, from raw down to QF 30, for the main enhancers on real DARK FACE images.

    python experiments/qf_curve.py --data DARKFACE_DIR [--out runs/qf_curve] [--qf raw --qf 90 ...]

Runs `facebench eval` over the QFs, `facebench plot --summary` for the figures (AP@0.3/0.5/0.7 vs QF with
95% CI bands: OUT/figures/official_qf.png; P-R per QF; AP by face size; paired differences) and `facebench
report`, then writes OUT/results.md with the curves' numbers. QFs shared with `table7.py` (same data,
detector and enhancers) come from the detection cache.
"""
from __future__ import annotations

from pathlib import Path

import click

from facebench.atomic import write_text_atomic
from facebench.experiments.facebench_steps import command_line, eval_and_report, run_facebench, start_log
from facebench.experiments.results_markdown import (ap_table, difference_table, provenance, qf_columns,
                                                    significance)
from facebench.experiments.sweep_options import Sweep, sweep_options

QFS = ("raw", "90", "80", "70", "60", "50", "40", "30")
FIGURES = "figures/official"  # `facebench plot --out` prefix inside the run directory


def results_markdown(results: dict, sweep: Sweep, command: str) -> str:
    """results.md: provenance, the figure, AP tables at IoU 0.5 / 0.3 / 0.7, paired differences at 0.5."""
    columns = qf_columns(results)
    return "\n\n".join([
        "## AP vs JPEG quality factor on DARK FACE", provenance(results, sweep.skipped, command),
        f"![AP@0.3/0.5/0.7 vs QF, 95% CI bands]({FIGURES}_qf.png)",
        "Official AP@0.5 [95% bootstrap CI]:", ap_table(columns, 0.5),
        "Official AP@0.3:", ap_table(columns, 0.3), "Official AP@0.7:", ap_table(columns, 0.7),
        "Paired difference AP@0.5 - AP@0.5(none) on the same images [95% paired bootstrap CI]:",
        difference_table(columns, 0.5), significance(columns, 0.5),
    ]) + "\n"


@click.command()
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="DARK FACE folder (image/ + label/).")
@click.option("--out", default="runs/qf_curve", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory (results.json, figures/, report.html, results.md, commands.txt).")
@sweep_options(QFS)
def main(data: Path, out: Path, sweep: Sweep) -> None:
    """AP@0.3/0.5/0.7 vs JPEG QF (raw .. 30) per enhancer on DARK FACE, with 95% CI bands."""
    log = start_log(out)
    results = eval_and_report(sweep, data, out, log)
    run_facebench(["plot", out, "--summary", "--out", out / FIGURES], log)
    text = results_markdown(results, sweep, command_line())
    write_text_atomic(out / "results.md", text)
    click.echo(text)
    click.echo(f"wrote {out / 'results.md'}, {out / FIGURES}_qf.png, {out / 'report.html'}")


if __name__ == "__main__":
    main()
