"""The MLSM paper's Table VII / Fig. 11 on real DARK FACE images: enhancers x QF 90/80/70/60 x one detector.

    python experiments/table7.py --data DARKFACE_DIR [--out runs/table7] [--enhancer NAME ...] [--bootstrap 1000]

Runs `facebench eval` (the `none` baseline first, each enhancer compared with it on the same images by a
paired bootstrap) and `facebench report` into OUT, then writes OUT/results.md: AP@0.3/0.5/0.7 with 95% CIs
per enhancer and QF (official DARK FACE protocol), the paired differences at AP@0.5 and which of them are
significant. Fig. 11's P-R curves are `facebench eval`'s OUT/pr_official_iou0.5_QF<qf>.png. The paper's
detector is PyramidBox trained on WIDER FACE; the default here is RetinaFace (shipped with facebench), so
absolute numbers differ from the paper's: compare the ranking and the paired differences.
"""
from __future__ import annotations

from pathlib import Path

import click

from facebench.atomic import write_text_atomic
from facebench.experiments.facebench_steps import command_line, eval_and_report, start_log
from facebench.experiments.results_markdown import (ap_table, difference_table, provenance, qf_columns,
                                                    significance)
from facebench.experiments.sweep_options import Sweep, sweep_options

QFS = ("90", "80", "70", "60")


def results_markdown(results: dict, sweep: Sweep, command: str) -> str:
    """results.md: provenance, AP tables at IoU 0.5 / 0.3 / 0.7, paired differences at 0.5, significance."""
    columns = qf_columns(results)
    figures = " ".join(f"[QF {qf}](pr_official_iou0.5_QF{qf}.png)" for qf in results["qfs"])
    return "\n\n".join([
        "## Table VII: enhancers x JPEG QF on DARK FACE", provenance(results, sweep.skipped, command),
        "Official AP@0.5 [95% bootstrap CI]:", ap_table(columns, 0.5),
        "Official AP@0.3:", ap_table(columns, 0.3), "Official AP@0.7:", ap_table(columns, 0.7),
        "Paired difference AP@0.5 - AP@0.5(none) on the same images [95% paired bootstrap CI]:",
        difference_table(columns, 0.5), significance(columns, 0.5),
        f"Fig. 11 (P-R curves per QF, IoU 0.5): {figures}; everything in report.html.",
    ]) + "\n"


@click.command()
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="DARK FACE folder (image/ + label/), e.g. the official training set or a sample of it.")
@click.option("--out", default="runs/table7", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory (results.json, report.html, results.md, commands.txt).")
@sweep_options(QFS)
def main(data: Path, out: Path, sweep: Sweep) -> None:
    """Table VII / Fig. 11: enhancers x QF 90/80/70/60 on DARK FACE, with CIs and paired differences vs none."""
    log = start_log(out)
    results = eval_and_report(sweep, data, out, log)
    text = results_markdown(results, sweep, command_line())
    write_text_atomic(out / "results.md", text)
    click.echo(text)
    click.echo(f"wrote {out / 'results.md'}, {out / 'report.html'}")


if __name__ == "__main__":
    main()
