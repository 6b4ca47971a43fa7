"""How many labelled images a paired AP comparison needs (`facebench.metrics.power`).

Reads a finished `facebench eval` run directory (its results.json and detections/), takes its evaluated
images as the population, and prints per QF and test-set size n: the mean difference AP(b) - AP(a)
(official protocol), the median width of its 95% paired-bootstrap interval, and how often a test set of n
images would put the interval above 0 (and below 0). The row n = I (the run's own size) says how
reproducible the run's own verdict is.

    python experiments/detection_power.py RUN --a none --b mlsm [--qf 90 --qf 60] [--n 10 --n 20 ...]
"""
from __future__ import annotations

from typing import Sequence

import click

from facebench.metrics.bootstrap import prepare
from facebench.metrics.power import comparison_power
from facebench.metrics.settings import MetricSettings
from facebench.run_dirs import RunDirError, open_run


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--a", "spec_a", default="none", show_default=True, help="Enhancer spec of the reference.")
@click.option("--b", "spec_b", required=True, help="Enhancer spec compared with --a (difference b - a).")
@click.option("--qf", "qfs", multiple=True, help="QFs as recorded in the run [default: every QF of the run].")
@click.option("--n", "sizes", multiple=True, type=click.IntRange(1), default=(10, 20, 40, 80), show_default=True,
              help="Test-set sizes to simulate; the run's own size is always added.")
@click.option("--iou", default=0.5, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--sets", default=200, show_default=True, type=click.IntRange(1), help="Simulated test sets per size.")
@click.option("--resamples", default=1000, show_default=True, type=click.IntRange(1),
              help="Bootstrap resamples per simulated set.")
@click.option("--seed", default=0, show_default=True)
def main(run_dir: str, spec_a: str, spec_b: str, qfs: Sequence[str], sizes: Sequence[int], iou: float, sets: int,
         resamples: int, seed: int) -> None:
    """Power of 'AP(b) - AP(a) has a 95% CI above 0' against the number of test images."""
    try:
        run = open_run(run_dir)
        gts = run.dataset().ground_truth()
        settings = MetricSettings(iou_thresholds=(iou,), size_edges=(), resamples=resamples, seed=seed)
        for qf in qfs or run.results["qfs"]:
            qf = str(qf)
            prepared = [prepare(gts, run.detections(qf, spec), settings) for spec in (spec_a, spec_b)]
            click.echo(f"\n{spec_b} - {spec_a}, official AP@{iou:g}, QF {qf}, {len(gts)} evaluated images "
                       f"({sets} simulated sets x {resamples} resamples)")
            click.echo("| n | mean difference | median CI width | CI above 0 | CI below 0 |\n|---|---|---|---|---|")
            for n in sorted(set(sizes) | {len(gts)}):
                p = comparison_power(*prepared, n=n, sets=sets, resamples=resamples, seed=seed)
                click.echo(f"| {n} | {p.diff_mean:+.3f} | {p.ci_width:.3f} | {p.above:.0%} | {p.below:.0%} |")
    except RunDirError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    main()
