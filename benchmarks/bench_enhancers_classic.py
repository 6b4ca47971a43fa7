"""Per-image time of the classic enhancers (gamma, he, clahe, msrcr, lime) on one 1080x720 image.

Usage:
    python benchmarks/bench_enhancers_classic.py [--image PATH] [--repeats 3] [--threads 0]

The image defaults to the first DARK FACE sample in ../shared/data/darkface_sample/image (LIME's
solve time depends on the content), else a synthetic dark 1080x720 image. Each enhancer runs once to
warm up, then `repeats` times; the median wall time per image is printed as a Markdown table row.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from facebench.enhancers.classic import CLAHE, Gamma, HistogramEqualization
from facebench.enhancers.lime import LIME
from facebench.enhancers.msrcr import MSRCR

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "darkface_sample" / "image"
ENHANCERS = {
    "gamma": Gamma,
    "he": HistogramEqualization,
    "clahe": CLAHE,
    "msrcr": MSRCR,
    "lime": LIME,
    "lime (solve_scale=0.5)": lambda: LIME(solve_scale=0.5),
}


def _load(path: "Path | None") -> tuple:
    """-> (Tensor[1, 3, 720, 1080] float RGB in [0, 1], description of the source)."""
    if path is None and SAMPLES.is_dir():
        path = sorted(SAMPLES.glob("*.png"))[0]
    if path is None:
        rng = np.random.default_rng(0)
        rgb = (rng.random((720, 1080, 3)) * 0.1).astype(np.float32)
        source = "synthetic dark noise"
    else:
        bgr = cv2.imread(str(path))
        if bgr is None:
            raise SystemExit(f"{path}: not a readable image")
        rgb = cv2.resize(bgr, (1080, 720), interpolation=cv2.INTER_AREA)[..., ::-1].astype(np.float32) / 255.0
        source = str(path)
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None], source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch/OpenCV threads (0 = library default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    images, source = _load(args.image)
    print(f"image: {source}; 1080x720; CPU: {platform.processor() or platform.machine()}, "
          f"torch threads {torch.get_num_threads()}, OpenCV threads {cv2.getNumThreads()}")
    print("| enhancer | s / image (median) | min | max |")
    print("|---|---|---|---|")
    for name, factory in ENHANCERS.items():
        enhancer = factory()
        enhancer(images)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            enhancer(images)
            times.append(time.perf_counter() - start)
        print(f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} | {max(times):.3f} |", flush=True)


if __name__ == "__main__":
    main()
