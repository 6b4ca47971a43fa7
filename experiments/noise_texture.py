"""How the noise of real night frames compares with the night camera's (`facebench.lowlight`).

In flat dark regions of each frame (smoothed luma 3..40 grey levels, its gradient < 1 grey level per px) the
luma residual r = Y - GaussianBlur(Y, sigma) is mostly noise. Printed per source, as means over frames:
the residual's standard deviation (grey levels), its correlation with itself 1, 2 and 3 px away (mean of the
horizontal and vertical shifts), and the chroma residual's std as a share of the luma's.

    python experiments/noise_texture.py [--real DIR] [--photos DIR ...] [--sigma 1]

Real frames: DARK FACE-style night frames (default ../shared/data/dark_real/darkface_unlabelled). Photos:
normal-light photos darkened by the night camera, each to the mean brightness of one real frame in turn.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import click
import cv2
import numpy as np

from facebench.datasets.images import images_under, read_image
from facebench.lowlight import darken_like_darkface

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def noise_texture(rgb: np.ndarray, sigma: float) -> List[float]:
    """uint8 RGB [H, W, 3] -> [luma residual std, lag-1, lag-2, lag-3 correlation, chroma/luma std ratio]."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float64)
    luma = ycc[:, :, 0]
    background = cv2.GaussianBlur(luma, (0, 0), 4)
    slope = np.hypot(cv2.Sobel(background, cv2.CV_64F, 1, 0), cv2.Sobel(background, cv2.CV_64F, 0, 1))
    flat = (slope < 1.0) & (background > 3) & (background < 40)
    residual = luma - cv2.GaussianBlur(luma, (0, 0), sigma)
    row = [float(residual[flat].std())]
    for lag in (1, 2, 3):
        across = flat[:, :-lag] & flat[:, lag:]
        down = flat[:-lag] & flat[lag:]
        row.append(0.5 * (np.corrcoef(residual[:, :-lag][across], residual[:, lag:][across])[0, 1]
                          + np.corrcoef(residual[:-lag][down], residual[lag:][down])[0, 1]))
    chroma = ycc[:, :, 1:] - cv2.GaussianBlur(ycc[:, :, 1:], (0, 0), sigma)
    row.append(float(chroma[flat].std() / row[0]))
    return row


@click.command()
@click.option("--real", type=click.Path(exists=True, file_okay=False),
              default=str(SHARED / "dark_real" / "darkface_unlabelled"), show_default=True,
              help="Folder of real night frames.")
@click.option("--photos", type=click.Path(exists=True, file_okay=False), multiple=True,
              default=[str(SHARED / "normal_light")], show_default=True, help="Normal-light photos to darken.")
@click.option("--every", default=10, show_default=True, help="Use every Nth photo.")
@click.option("--sigma", default=1.0, show_default=True, help="Width of the high-pass, px.")
@click.option("--seed", default=0, show_default=True)
def main(real: str, photos: List[str], every: int, sigma: float, seed: int) -> None:
    """Print the luma noise texture of real night frames against the night camera's, per-pixel and through a
    colour filter array."""
    frames = [read_image(p) for p in images_under(Path(real))]
    means = [float(f.mean()) / 255 for f in frames]
    sources = {f"real frames ({len(frames)})": [noise_texture(f, sigma) for f in frames]}
    bright = [read_image(p) for folder in photos for p in images_under(Path(folder))][::every]
    for cfa in (False, True):
        rng = np.random.default_rng(seed)
        rows = [noise_texture(darken_like_darkface(im, means[i % len(means)], rng, cfa=cfa), sigma)
                for i, im in enumerate(bright)]
        sources[f"night camera, {'colour filter array' if cfa else 'per-pixel noise'} ({len(bright)})"] = rows
    print(f"high-pass sigma {sigma} px | luma std | corr lag 1 | lag 2 | lag 3 | chroma / luma")
    for name, rows in sources.items():
        std, *lags, chroma = np.nanmean(np.array(rows), axis=0)
        print(f"{name:48s} | {std:.2f} | {lags[0]:+.3f} | {lags[1]:+.3f} | {lags[2]:+.3f} | {chroma:.2f}")


if __name__ == "__main__":
    main()
