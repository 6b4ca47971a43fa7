"""Time the learned enhancers (authors' or shipped weights) per 1080x720 image (DARK FACE size).

    python benchmarks/bench_enhancers_learned.py --threads 1 --repeats 5
    python benchmarks/bench_enhancers_learned.py --enhancer zerodce --enhancer sci
    python benchmarks/bench_enhancers_learned.py --enhancer nerco --weights nerco=RUN/nerco.pt

Weights: found as the plugins find them ($FACEBENCH_HOME or ~/.cache/facebench); when a file is not
there, ../shared/data/weights (and ../shared/specs/zerodce) beside the repository is used instead.
Input: DARK FACE sample image 1 from ../shared when present, else a seeded dark noise frame.
Prints one markdown table row per enhancer: median and min wall time of `enhance` on a batch of one
image, after warm-up runs.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from facebench.plugins import ENHANCERS
from facebench.weights import MissingWeightsError
from frames import HEIGHT, WIDTH, darkface_frame  # benchmarks/frames.py, beside this script

SHARED = Path(__file__).resolve().parents[2] / "shared"
# (plugin class spec, constructor settings, weights file under ../shared used when the user has none)
CASES = {
    "zerodce": ("facebench.enhancers.zerodce:ZeroDCE", {}, SHARED / "specs/zerodce/Epoch99.pth"),
    "zerodce++": ("facebench.enhancers.zerodce_pp:ZeroDCEPlus", {}, SHARED / "data/weights/zerodce_pp/Epoch99.pth"),
    "sci": ("facebench.enhancers.sci:SCI", {"variant": "difficult"}, SHARED / "data/weights/sci/difficult.pt"),
    "ruas": ("facebench.enhancers.ruas:RUAS", {"variant": "dark"}, SHARED / "data/weights/ruas/dark.pt"),
    "ruas-lol": ("facebench.enhancers.ruas:RUAS", {"variant": "lol"}, SHARED / "data/weights/ruas/lol.pt"),
    "deblock": ("facebench.enhancers.deblock:Deblock", {}, None),  # shipped weights: never missing
    # shipped CPU configs; --weights NAME=PATH times another file (authors' or `train-enhancer` output)
    "mrvae": ("facebench.enhancers.mrvae:MRVAE", {}, None),
    "nerco": ("facebench.enhancers.nerco:NeRCo", {}, None),
    "lightendiffusion": ("facebench.enhancers.lightendiffusion:LightenDiffusion", {}, None),
}


def _build(case: str, weights: dict):
    spec, settings, fallback = CASES[case]
    if case in weights:
        return ENHANCERS.create(spec, weights=weights[case], **settings)
    try:
        return ENHANCERS.create(spec, **settings)
    except MissingWeightsError:
        if fallback is None or not fallback.is_file():
            raise
        return ENHANCERS.create(spec, weights=str(fallback), **settings)


def _time(enhancer, images: torch.Tensor, warmup: int, repeats: int) -> list:
    for _ in range(warmup):
        enhancer(images)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        enhancer(images)
        if images.is_cuda:
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enhancer", action="append", choices=sorted(CASES), help="repeatable; default all")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", action="append", default=[], metavar="NAME=PATH",
                        help="weights file of an enhancer (repeatable)")
    args = parser.parse_args()
    weights = dict(item.split("=", 1) for item in args.weights)
    if args.threads:
        torch.set_num_threads(args.threads)
    images, what = darkface_frame()
    images = images.to(args.device)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {args.device}, input {what} {WIDTH}x{HEIGHT}")
    print("| enhancer | settings | median s/image | min s/image |")
    print("|---|---|---|---|")
    for case in args.enhancer or list(CASES):
        enhancer = _build(case, weights).to(args.device)
        seconds = _time(enhancer, images, args.warmup, args.repeats)
        print(f"| {enhancer.name} | {enhancer.settings()} | {statistics.median(seconds):.3f} | {min(seconds):.3f} |")


if __name__ == "__main__":
    main()
