"""Real faces, synthetic darkness: AP@0.5 against darkness per enhancer, on AFW darkened by the physical model.

    python experiments/exposure.py --afw AFW_DIR/afw_faces_xyxy.json [--out runs/exposure] [--images 50]
        [--max-side 512] [--level 0.04 --level 0.02 ...] [--qf raw --qf 90 --qf 60]

Steps: the first --images AFW photos in natural id order, downscaled to --max-side, are darkened to each
--level of mean brightness (experiments.darkened_afw) into OUT/data/<level>/ (DARK FACE layout);
`facebench eval` runs on each level into OUT/runs/<level>/ and `facebench report` over all of them writes
OUT/report.html. Then OUT/ap_vs_exposure.png (+ .pdf), OUT/exposure.json (levels, measured brightness,
folders) and OUT/results.md (per QF: AP@0.5 [95% CI] and the paired difference vs none at each level).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Tuple

import click

from facebench.atomic import write_json_atomic, write_text_atomic
from facebench.datasets import DatasetError
from facebench.datasets.afw import read_afw
from facebench.experiments.darkened_afw import DarkLevel, level_name, write_levels
from facebench.experiments.exposure_figure import exposure_figure
from facebench.experiments.facebench_steps import command_line, run_facebench, start_log
from facebench.experiments.results_markdown import Column, ap_table, difference_table, provenance, significance
from facebench.experiments.sweep_options import Sweep, sweep_options
from facebench.plotting import save_figure
from facebench.run_dirs import read_results

# Mean brightness of the levels: DARK FACE's own (0.04, 0.02; its frames are 0.021-0.054) and darker, where
# the baseline loses AFW's larger faces (median 64 px in the first 50 photos at 512 px; DARK FACE's: 11.5 px).
# Halving the mean brightness is 2.2 stops less light (gamma 2.2).
LEVELS = (0.04, 0.02, 0.01, 0.007, 0.005)
QFS = ("raw", "90", "60")


def _columns(levels: Sequence[DarkLevel], results: Sequence[dict], qf: str) -> List[Column]:
    return [(f"{level.measured:.3f}", r, qf) for level, r in zip(levels, results)]


def results_markdown(levels: Sequence[DarkLevel], results: Sequence[dict], sweep: Sweep, dataset: str,
                     command: str) -> str:
    """results.md: provenance, the figure, and per QF the AP@0.5 and difference tables (a column per level)."""
    parts = ["## AP vs darkness: AFW photos darkened by the physical low-light model",
             provenance(results[0], sweep.skipped, command, dataset),
             "Columns: the measured mean brightness of each level (fraction of full scale; DARK FACE frames: "
             "0.021-0.054).", "![AP@0.5 vs darkness, 95% CI bands](ap_vs_exposure.png)"]
    for qf in results[0]["qfs"]:
        columns = _columns(levels, results, qf)
        parts += [f"### QF {qf}", "Official AP@0.5 [95% bootstrap CI]:", ap_table(columns, 0.5),
                  "Paired difference AP@0.5 - AP@0.5(none) [95% paired bootstrap CI]:", difference_table(columns, 0.5)]
    every = [(f"brightness {title}, QF {qf}", r, qf) for qf in results[0]["qfs"]
             for title, r, _ in _columns(levels, results, qf)]
    parts.append(significance(every, 0.5))
    return "\n\n".join(parts) + "\n"


def _levels(values: Tuple[float, ...]) -> Tuple[float, ...]:
    if any(not 0 < v < 1 for v in values) or len(set(values)) != len(values) or len(values) < 2:
        raise click.BadParameter(f"{values}: expected 2 or more distinct mean brightness levels in (0, 1)",
                                 param_hint="--level")
    return tuple(sorted(values, reverse=True))


@click.command()
@click.option("--afw", "afw_json", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="AFW's afw_faces_xyxy.json (its 'file' entries relative to the json's folder).")
@click.option("--out", default="runs/exposure", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory (data/, runs/, report.html, ap_vs_exposure.png, exposure.json, results.md).")
@click.option("--images", default=50, show_default=True, type=click.IntRange(min=1),
              help="Use the first N AFW photos in natural id order (205 in all).")
@click.option("--max-side", default=512, show_default=True, type=click.IntRange(min=32),
              help="Downscale each photo so that its long side is at most this many pixels.")
@click.option("--level", "levels", multiple=True, type=float, default=LEVELS, show_default=True,
              help="Mean brightness of a darkness level (fraction of full scale), repeatable.")
@click.option("--noise-seed", default=0, show_default=True, help="Seed of the sensor noise (per photo: seed, id).")
@sweep_options(QFS)
def main(afw_json: Path, out: Path, images: int, max_side: int, levels: Tuple[float, ...], noise_seed: int,
         sweep: Sweep) -> None:
    """AP@0.5 vs darkness (5 levels x QF raw/90/60) per enhancer on AFW darkened by facebench.lowlight."""
    levels = _levels(levels)
    log = start_log(out)
    try:
        photos = read_afw(afw_json)[:images]
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    faces = sum(len(p.boxes) for p in photos)
    click.echo(f"darkening {len(photos)} AFW photos ({faces} faces) to {len(levels)} levels in {out / 'data'}",
               err=True)
    written = write_levels(photos, levels, out / "data", max_side, noise_seed, str(afw_json.resolve()))
    run_dirs = [out / "runs" / level_name(level.target) for level in written]
    for level, run_dir in zip(written, run_dirs):
        run_facebench(sweep.eval_args(level.folder, run_dir), log)
    run_facebench(sweep.report_args(run_dirs, out / "report.html"), log)
    results = [read_results(run_dir) for run_dir in run_dirs]
    save_figure(exposure_figure([(level.measured, r) for level, r in zip(written, results)]), out / "ap_vs_exposure")
    write_json_atomic(out / "exposure.json", {
        "afw": str(afw_json.resolve()), "photos": [p.image_id for p in photos], "faces": faces, "max_side": max_side,
        "noise_seed": noise_seed, "command": command_line(),
        "levels": [{"target": level.target, "measured": level.measured, "data": str(level.folder), "run": str(run_dir)}
                   for level, run_dir in zip(written, run_dirs)]})
    dataset = (f"AFW, first {len(photos)} photos in natural id order ({faces} faces), long side <= {max_side} px, "
               f"darkened by facebench.lowlight.darken_like_darkface (noise seed {noise_seed})")
    text = results_markdown(written, results, sweep, dataset, command_line())
    write_text_atomic(out / "results.md", text)
    click.echo(text)
    click.echo(f"wrote {out / 'results.md'}, {out / 'ap_vs_exposure.png'}, {out / 'report.html'}")


if __name__ == "__main__":
    main()
