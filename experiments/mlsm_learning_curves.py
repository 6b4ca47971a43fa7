"""Learning curves of an MLSM training run: training losses and validation PSNR / SSIM per stage.

    python experiments/mlsm_learning_curves.py RUN --out mlsm/learning_curves

Reads RUN/<stage>/train.csv and val.csv (written by `facebench train-enhancer mlsm`), copies them to
OUT/<stage>_train.csv / <stage>_val.csv and draws OUT/learning_curves.png: one column per stage, the
total training loss (a 10-row moving average) on top, validation PSNR and SSIM below.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import click
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from facebench.experiments.training_curves import read_log, running_mean  # noqa: E402

STAGES = ("vae-dark", "vae-normal", "mapping", "refine")


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False))
def main(run: str, out: str) -> None:
    """Copy the CSV logs of RUN and plot them."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stages = [s for s in STAGES if (Path(run) / s / "train.csv").is_file()]
    if not stages:
        raise click.ClickException(f"{run}: no <stage>/train.csv (is it a train-enhancer mlsm run?)")
    fig, axes = plt.subplots(2, len(stages), figsize=(4 * len(stages), 6), squeeze=False)
    for column, stage in enumerate(stages):
        for kind in ("train", "val"):
            source = Path(run) / stage / f"{kind}.csv"
            if source.is_file():
                shutil.copyfile(source, out_dir / f"{stage}_{kind}.csv")
        train = read_log(Path(run) / stage / "train.csv")
        axes[0][column].plot([r["step"] for r in train], running_mean(np.array([r["total"] for r in train]), 10))
        axes[0][column].set(title=stage, xlabel="step", ylabel="training loss (total, smoothed)")
        val_path = Path(run) / stage / "val.csv"
        if val_path.is_file():
            val = read_log(val_path)
            steps = [r["step"] for r in val]
            axes[1][column].plot(steps, [r["psnr"] for r in val], "o-", label="PSNR (dB)")
            axes[1][column].set(xlabel="step", ylabel="validation PSNR (dB)")
            twin = axes[1][column].twinx()
            twin.plot(steps, [r["ssim"] for r in val], "s--", color="tab:orange", label="SSIM")
            twin.set_ylabel("validation SSIM")
    fig.tight_layout()
    fig.savefig(out_dir / "learning_curves.png", dpi=110)
    click.echo(f"wrote {out_dir / 'learning_curves.png'} and the CSV logs")


if __name__ == "__main__":
    main()
