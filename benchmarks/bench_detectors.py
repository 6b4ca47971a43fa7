"""Time a detector per 1080x720 image (DARK FACE size) at several test-time scales.

    python benchmarks/bench_detectors.py --detector retinaface --scales 1 2 --repeats 10

Input: a DARK FACE sample image from ../shared/data/darkface_sample when present (what the timings are
for: the number of low-score candidates reaching NMS depends on the content), else a seeded dark
noise frame of the same size. Prints one markdown table row per scale: median and min wall time of
`detect` on a batch of one image, after warm-up runs.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from facebench.plugins import DETECTORS
from frames import HEIGHT, WIDTH, darkface_frame  # benchmarks/frames.py, beside this script



def _time(detector, images: torch.Tensor, warmup: int, repeats: int) -> "tuple[list, int]":
    for _ in range(warmup):
        detector(images)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        detections = detector(images)
        seconds.append(time.perf_counter() - start)
    return seconds, len(detections[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="retinaface", help="registered detector name")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0], help="values of its `scale` setting")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    images, what = darkface_frame()
    load = os.getloadavg()[0]
    cpu = f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, load {load:.1f}"
    print("| detector | scale | input | device | median ms/image | min ms/image | detections |")
    print("|---|---|---|---|---|---|---|")
    for scale in args.scales:
        detector = DETECTORS.create(args.detector, scale=scale)
        seconds, count = _time(detector, images, args.warmup, args.repeats)
        print(f"| {args.detector} | {scale:g} | {what} {WIDTH}x{HEIGHT} | CPU ({cpu}) | "
              f"{1000 * statistics.median(seconds):.0f} | {1000 * min(seconds):.0f} | {count} |", flush=True)


if __name__ == "__main__":
    main()
