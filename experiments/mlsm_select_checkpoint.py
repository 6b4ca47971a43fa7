"""Choose the MLSM checkpoint to ship from a training run's snapshots (refine or mapping stage).

Criteria (never the test numbers that get reported):
    - validation PSNR and SSIM on the held-back pairs (recorded in each snapshot, `data.val_ids`);
    - official AP@0.5 at QF 90 with RetinaFace on a detection set given by `--detection-data`; default the
      embedded synthetic set (`facebench demo-data`: faces and scenes the model never saw), so the real
      DARK FACE images stay a test set.
The chosen snapshot has the best mean rank over the three criteria (ties: the later step).
Writes RUN/selection.md and prints it.

    python experiments/mlsm_select_checkpoint.py RUN [--stage refine|mapping] [--detection-data DIR] [--last N]
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import click

from facebench.atomic import write_text_atomic
from facebench.checkpoint import load_checkpoint


def _detection_ap(weights: Path, data: str, out: Path) -> float:
    subprocess.run(["facebench", "eval", "--data", data, "--enhancer", "mlsm", "--weights", f"mlsm={weights}",
                    "--qf", "90", "--bootstrap", "0", "--out", str(out)], check=True, capture_output=True)
    results = json.loads((out / "results.json").read_text())
    run = next(r for r in results["runs"] if r["enhancer_spec"] == "mlsm")
    return run["metrics"]["official"]["iou"]["0.5"]["ap"]


def _ranks(values: List[float]) -> List[int]:
    """Rank 1 = largest value."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    ranks = [0] * len(values)
    for rank, i in enumerate(order, 1):
        ranks[i] = rank
    return ranks


def select(rows: List[Dict]) -> Dict:
    """The row with the best mean rank over val PSNR, val SSIM and AP@0.5 (ties: the later step)."""
    ranks = [_ranks([r[k] for r in rows]) for k in ("psnr", "ssim", "ap50")]
    for row, *rk in zip(rows, *ranks):
        row["mean_rank"] = sum(rk) / len(rk)
    return min(rows, key=lambda r: (r["mean_rank"], -r["step"]))


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--detection-data", default=None, help="Face set for AP@0.5 (default: the embedded synthetic set).")
@click.option("--stage", type=click.Choice(["mapping", "refine"]), default="refine", show_default=True,
              help="Whose snapshots to rank (refine: a run with a refinement head).")
@click.option("--last", default=0, help="Only the last N snapshots (0 = all).")
def main(run: str, detection_data: Optional[str], stage: str, last: int) -> None:
    """Rank RUN/<stage>/step*.pt and name the one to ship."""
    snapshots = sorted(Path(run, stage).glob("step*.pt"))[-last:]
    if not snapshots:
        raise click.ClickException(f"{run}/{stage}: no step*.pt snapshots (written at every validation)")
    with tempfile.TemporaryDirectory() as tmp:
        if detection_data is None:
            detection_data = str(Path(tmp) / "embedded")
            subprocess.run(["facebench", "demo-data", detection_data], check=True, capture_output=True)
        rows = []
        for path in snapshots:
            snap = load_checkpoint(path)["metadata"]["snapshot"]
            ap50 = _detection_ap(path, detection_data, Path(tmp) / path.stem)
            rows.append({"snapshot": f"{stage}/{path.name}", "step": snap["step"], "psnr": snap["val"]["psnr"],
                         "ssim": snap["val"]["ssim"], "ap50": ap50})
            click.echo(json.dumps(rows[-1]))
    chosen = select(rows)
    lines = [f"Detection set: {detection_data}; validation QF as recorded in the snapshots.", "",
             "| snapshot | val PSNR (dB) | val SSIM | AP@0.5 QF 90 | mean rank |", "|---|---|---|---|---|"]
    lines += [f"| {r['snapshot']}{' (chosen)' if r is chosen else ''} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
              f"{r['ap50']:.4f} | {r['mean_rank']:.2f} |" for r in rows]
    text = "\n".join(lines) + "\n"
    write_text_atomic(Path(run) / "selection.md", text)
    click.echo(text)


if __name__ == "__main__":
    main()
