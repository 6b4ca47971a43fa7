"""Is a LightenDiffusion stage-1 CTDN good enough to train stage 2 on? Measured on paired images it never saw.

At test time LightenDiffusion decodes a generated latent with the skips of the low-light input, so stage 2
can at best produce decode(latent of the normal-light image, skips of the low-light image). This script
measures that ceiling on pairs (PSNR over RGB, dB; images resized to 256 px on the short side, sides cut
to multiples of 8):

    recon low / recon high   decode(encode(x), skips(x)) vs x: the autoencoder itself
    oracle                   decode(latent(high), skips(low)) vs high: the ceiling of stage 2
    oracle, synthetic        the same with the skips of 0.3 * high ** 1.2 (inside stage 1's exposure range)
    none                     low vs high

    python experiments/lightendiffusion_stage1_check.py runs/lightendiffusion/stage1/stage1.pt \
        --pairs ../shared/data/paired/sice_part1 --last 15 [--full]

--pairs holds low/ and high/ with the same file names (facebench's pair layout); --last N takes its last N
pairs by name (SICE part 1's last 15 are MLSM's test pairs, which LightenDiffusion never trains on).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import click
import cv2
import numpy as np
import torch

from facebench.enhancers.lightendiffusion.architecture import FULL, SMALL
from facebench.enhancers.lightendiffusion.ctdn import CTDN
from facebench.enhancers.lightendiffusion.weights import read_ctdn
from facebench.pairs import find_pairs, read_pair

SHORT_SIDE = 256


def _tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 RGB [H, W, 3] -> Tensor[1, 3, h, w] in [0, 1], short side 256 px (INTER_AREA), h, w multiples of 8."""
    h, w = image.shape[:2]
    scale = SHORT_SIDE / min(h, w)
    size = (int(w * scale) // 8 * 8, int(h * scale) // 8 * 8)
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255


def _psnr(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / (estimate.clamp(0, 1) - reference).pow(2).mean()))


@torch.no_grad()
def stage1_scores(ctdn: CTDN, low: torch.Tensor, high: torch.Tensor) -> Dict[str, float]:
    """The five PSNRs of the module docstring for one pair of Tensor[1, 3, H, W] images in [0, 1]."""
    low_feature, low_skips = ctdn.encode(low)
    high_feature, high_skips = ctdn.encode(high)
    _, synthetic_skips = ctdn.encode(0.3 * high ** 1.2)
    return {"recon low": _psnr(ctdn.decode(low_feature, low_skips), low),
            "recon high": _psnr(ctdn.decode(high_feature, high_skips), high),
            "oracle": _psnr(ctdn.decode(high_feature, low_skips), high),
            "oracle, synthetic": _psnr(ctdn.decode(high_feature, synthetic_skips), high),
            "none": _psnr(low, high)}


@click.command()
@click.argument("stage1", type=click.Path(exists=True, dir_okay=False))
@click.option("--pairs", "pairs_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder with low/ and high/ (the same names).")
@click.option("--last", default=0, show_default=True, help="Only the last N pairs by name (0 = all).")
@click.option("--full", is_flag=True, help="The stage-1 file has the authors' network size.")
@click.option("--threads", default=1, show_default=True)
def main(stage1, pairs_dir, last, full, threads):
    """Print the mean of each PSNR over the pairs."""
    torch.set_num_threads(threads)
    ctdn = read_ctdn(stage1, FULL if full else SMALL).eval()
    pairs = find_pairs(Path(pairs_dir))
    pairs = pairs[-last:] if last else pairs
    rows = [stage1_scores(ctdn, *map(_tensor, read_pair(pair))) for pair in pairs]
    click.echo(f"{stage1}: {len(rows)} pairs; " + ", ".join(
        f"{key} {np.mean([row[key] for row in rows]):.2f} dB" for key in rows[0]))


if __name__ == "__main__":
    main()
