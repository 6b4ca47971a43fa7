"""PSNR / SSIM / PSNR-B at QF 90/80/70/60 on held-out real pairs: `none`, MLSM and the no-mapping
ablation (the table in mlsm/MODEL_CARD.md).

The test pairs are the last `data.test_pairs_excluded` pairs of the paired folders the checkpoint's
metadata records (never loaded in training, never used to choose the checkpoint).
Per pair and QF: low -> JPEG at QF (OpenCV) -> enhancer -> 8 bit, measured against the high image
(PSNR and SSIM on RGB, PSNR-B with BEF on the luma of the output; facebench.image_quality).

    python experiments/mlsm_quality_table.py [--weights RUN/mlsm.pt] [--ablation RUN_NM/mlsm.pt] \
        [--pairs ../shared/data/paired/sice_part1] [--out table.md] [--threads 1]
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

import click
import torch

from facebench.checkpoint import load_checkpoint
from facebench.commands.quality_cmd import enhance_uint8
from facebench.degrade import jpeg_roundtrip
from facebench.enhancers.classic import Identity
from facebench.enhancers.mlsm import DEFAULT_WEIGHTS, MLSMEnhancer
from facebench.image_quality import QualityMeter
from facebench.atomic import write_text_atomic
from facebench.pairs import find_pairs, read_pair

QFS = (90, 80, 70, 60)


def held_out_pairs(weights: Path, pairs_dir: Optional[str] = None):
    """[(name, low uint8 RGB, high uint8 RGB)] of the test pairs of `weights`; `pairs_dir` replaces the
    folder recorded at training time (e.g. ../shared/data/paired/sice_part1 on another machine)."""
    data = load_checkpoint(weights)["metadata"]["data"]
    count = data.get("test_pairs_excluded", 0)
    if not count or len(data["paired"]) != 1:
        raise click.ClickException(f"{weights}: its metadata names no test pairs of one paired folder")
    pairs = find_pairs(pairs_dir or data["paired"][0])[-count:]
    return [(pair.name, *read_pair(pair)) for pair in pairs]


def quality_table(enhancers: Dict[str, object], pairs) -> List[Dict]:
    """Rows {method, qf, psnr, ssim, psnr_b, count}: means over `pairs`."""
    meters = {(m, qf): QualityMeter() for m in enhancers for qf in QFS}
    device = torch.device("cpu")
    for _, low, high in pairs:
        for qf in QFS:
            dark = jpeg_roundtrip(low, qf)
            for method, enhancer in enhancers.items():
                meters[(method, qf)].process(enhance_uint8(enhancer, dark, device), high)
    return [{"method": m, "qf": qf, **meter.evaluate()} for (m, qf), meter in meters.items()]


def markdown(rows: List[Dict]) -> str:
    lines = ["| QF | method | PSNR (dB) | SSIM | PSNR-B (dB) |", "|---|---|---|---|---|"]
    for qf in QFS:
        for r in (r for r in rows if r["qf"] == qf):
            lines.append(f"| {qf} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['psnr_b']:.2f} |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="MLSM checkpoint (default: the shipped mlsm_default.pt).")
@click.option("--ablation", type=click.Path(exists=True, dir_okay=False), default=None,
              help="No-mapping checkpoint from `train-enhancer mlsm --no-mapping`.")
@click.option("--pairs", "pairs_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder with low/ and high/ holding the held-out pairs (default: the folder recorded in the weights).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the table (and .json).")
@click.option("--threads", default=0, help="torch CPU threads (0 = default).")
def main(weights: Optional[str], ablation: Optional[str], pairs_dir: Optional[str], out: Optional[str], threads: int) -> None:
    """Print the held-out quality table of none / MLSM / no-mapping."""
    if threads:
        torch.set_num_threads(threads)
    weights_path = Path(weights) if weights else DEFAULT_WEIGHTS
    enhancers = {"none": Identity(), "mlsm": MLSMEnhancer(weights=str(weights_path))}
    if ablation:
        enhancers["no-mapping"] = MLSMEnhancer(weights=ablation)
    pairs = held_out_pairs(weights_path, pairs_dir)
    rows = quality_table(enhancers, pairs)
    text = f"{len(pairs)} test pairs: {', '.join(p[0] for p in pairs)}\n\n" + markdown(rows)
    click.echo(text)
    if out:
        write_text_atomic(out, text)
        write_text_atomic(Path(out).with_suffix(".json"), json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
