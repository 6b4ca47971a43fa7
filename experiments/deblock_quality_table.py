"""PSNR / SSIM / PSNR-B gains of `deblock` at QF 90/80/70/60 on held-out photos (the model card's table).

For each photo and QF: clean -> JPEG at QF (OpenCV) -> `deblock` (blind, and told the QF) -> 8 bit, each
measured against the clean photo. Condition "normal" uses the photos as they are; "dark" first darkens
them with the physical low-light model (facebench.lowlight, seeded per photo) and measures against the
dark uncompressed image, which is what a deblocker sees in the DARK FACE pipeline.

    python experiments/deblock_quality_table.py --photos ../shared/data/normal_light/LIVE1_color \
        [--weights RUN/deblock.pt] [--out table.md]
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import click
import numpy as np
import torch

from facebench.commands.quality_cmd import enhance_uint8
from facebench.degrade import jpeg_roundtrip
from facebench.enhancers.deblock import Deblock
from facebench.enhancers.deblock_train import find_photos
from facebench.datasets.images import read_image
from facebench.image_quality import QualityMeter
from facebench.atomic import write_text_atomic
from facebench.lowlight import darken, sample_model

QFS = (90, 80, 70, 60)
VARIANTS = ("jpeg", "deblock blind", "deblock told QF")


def _condition(rgb: np.ndarray, condition: str, index: int) -> np.ndarray:
    if condition == "normal":
        return rgb
    rng = np.random.default_rng([2024, index])
    return darken(rgb, sample_model(rng), rng)


def quality_table(photos: Sequence[Path], weights: Optional[str], conditions: Sequence[str]) -> List[Dict]:
    """Rows {condition, qf, variant, psnr, ssim, psnr_b, count}: means over `photos`."""
    device = torch.device("cpu")
    blind = Deblock(weights=weights)
    told = {qf: Deblock(weights=weights, qf=qf) for qf in QFS}
    meters = {(c, qf, v): QualityMeter() for c in conditions for qf in QFS for v in VARIANTS}
    for index, path in enumerate(photos):
        original = read_image(path)
        for condition in conditions:
            clean = _condition(original, condition, index)
            for qf in QFS:
                compressed = jpeg_roundtrip(clean, qf)
                outputs = {"jpeg": compressed, "deblock blind": enhance_uint8(blind, compressed, device),
                           "deblock told QF": enhance_uint8(told[qf], compressed, device)}
                for variant, image in outputs.items():
                    meters[(condition, qf, variant)].process(image, clean)
    return [{"condition": c, "qf": qf, "variant": v, **m.evaluate()} for (c, qf, v), m in meters.items()]


def markdown(rows: List[Dict], weights_sha: str, count: int) -> str:
    """The table as Markdown: per condition and QF, JPEG numbers and the deblocked gains."""
    lines = [f"{count} held-out photos; weights sha256 {weights_sha[:16]}...; means per image, 8-bit RGB.", "",
             "| condition | QF | JPEG PSNR | JPEG PSNR-B | JPEG SSIM | blind: ΔPSNR | ΔPSNR-B | ΔSSIM "
             "| told QF: ΔPSNR | ΔPSNR-B | ΔSSIM |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    index = {(r["condition"], r["qf"], r["variant"]): r for r in rows}
    for condition, qf in dict.fromkeys((r["condition"], r["qf"]) for r in rows):
        base = index[(condition, qf, "jpeg")]
        cells = [f"{base['psnr']:.2f}", f"{base['psnr_b']:.2f}", f"{base['ssim']:.4f}"]
        for variant in VARIANTS[1:]:
            r = index[(condition, qf, variant)]
            cells += [f"{r['psnr'] - base['psnr']:+.2f}", f"{r['psnr_b'] - base['psnr_b']:+.2f}",
                      f"{r['ssim'] - base['ssim']:+.4f}"]
        lines.append(f"| {condition} | {qf} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--photos", "folders", multiple=True, required=True, type=click.Path(exists=True, file_okay=False),
              help="Held-out clean photos (not used in training; repeatable).")
@click.option("--weights", default=None, help="Deblock weights file (default: the shipped weights).")
@click.option("--condition", "conditions", multiple=True, type=click.Choice(["normal", "dark"]),
              default=("normal", "dark"), show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the Markdown table here.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1))
def main(folders, weights, conditions, out, threads):
    """Print the deblock model card's quality table."""
    torch.set_num_threads(threads)
    photos = find_photos(folders)
    rows = quality_table(photos, weights, conditions)
    text = markdown(rows, Deblock(weights=weights).weights.sha256, len(photos))
    click.echo(text)
    if out:
        write_text_atomic(out, text)


if __name__ == "__main__":
    main()
