"""Time a detector per 1080x720 image (DARK FACE size), for several settings side by side.

    python benchmarks/bench_detectors.py --detector retinaface --scales 1 2 --repeats 10
    python benchmarks/bench_detectors.py --detector retinaface --variants backend=onnx backend=torch --batch 1 4

Input: a DARK FACE sample image from ../shared/data/darkface_sample when present (what the timings are
for: the number of low-score candidates reaching NMS depends on the content), else a seeded dark
noise frame of the same size, repeated `--batch` times. The variants (each a comma-separated list of
KEY=VALUE detector settings) are timed in interleaved rounds, so that a load that changes during the
run affects all of them alike. Prints one markdown table row per (scale, batch, variant): median and
min wall time of `detect` per image, after warm-up runs, and the load average at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Dict, List

import torch

from facebench.plugins import DETECTORS
from frames import HEIGHT, WIDTH, darkface_frame  # benchmarks/frames.py, beside this script


def _settings(variant: str) -> Dict[str, object]:
    """'backend=torch,top_k=100' -> {'backend': 'torch', 'top_k': 100}; '' -> {}."""
    settings = {}
    for item in filter(None, variant.split(",")):
        key, _, value = item.partition("=")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def _interleaved(detectors: List, images: torch.Tensor, warmup: int, repeats: int) -> List[List[float]]:
    """Seconds per call of each detector, measured round-robin."""
    for detector in detectors:
        for _ in range(warmup):
            detector(images)
    seconds: List[List[float]] = [[] for _ in detectors]
    for _ in range(repeats):
        for detector, times in zip(detectors, seconds):
            start = time.perf_counter()
            detector(images)
            times.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="retinaface", help="registered detector name")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0], help="values of its `scale` setting")
    parser.add_argument("--variants", nargs="+", default=[""], help="settings to compare, e.g. backend=onnx")
    parser.add_argument("--batch", type=int, nargs="+", default=[1], help="images per detect call")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    frame, what = darkface_frame()
    cpu = f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    print(f"{what} {WIDTH}x{HEIGHT}, CPU ({cpu}), load average at start {os.getloadavg()[0]:.1f}")
    print("| detector | settings | scale | batch | median ms/image | min ms/image | detections (image 1) |")
    print("|---|---|---|---|---|---|---|")
    for scale in args.scales:
        detectors = [DETECTORS.create(args.detector, scale=scale, **_settings(v)) for v in args.variants]
        for batch in args.batch:
            images = frame.expand(batch, -1, -1, -1).contiguous()
            counts = [len(detector(images)[0]) for detector in detectors]
            for variant, times, count in zip(args.variants, _interleaved(detectors, images, args.warmup,
                                                                         args.repeats), counts):
                print(f"| {args.detector} | {variant or 'defaults'} | {scale:g} | {batch} | "
                      f"{1000 * statistics.median(times) / batch:.0f} | {1000 * min(times) / batch:.0f} | "
                      f"{count} |", flush=True)
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
