"""Forward time and peak memory of PyramidBox (and S3FD for comparison) on a 1080x720 image.

    python benchmarks/bench_pyramidbox.py [--scales 1,2.27] [--models pyramidbox,s3fd] [--repeats 1]
        [--weights PATH] [--device cpu|cuda] [--threads N] [--precision fp32|mixed]

Each (model, scale) runs in a fresh child process so that its peak resident memory (CPU: ru_maxrss; CUDA:
torch.cuda.max_memory_allocated) belongs to that configuration alone. Timing does not depend on the
weights, so random weights are used unless --weights is given (PyramidBox only). The network input is
round(720 * scale) x round(1080 * scale); time = one forward after a small warm-up, median of --repeats.
Precision as the detectors run: fp32 by default, --precision mixed = their fp16 autocast option (meant for
CUDA; on a CPU fp16 convolutions are very slow).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

from facebench.detectors.precision import PRECISIONS, autocast

HEIGHT, WIDTH = 720, 1080


def _build(model: str, weights: str | None, precision: str) -> torch.nn.Module:
    if model == "pyramidbox":
        from facebench.detectors.pyramidbox.model import PyramidBoxNet
        from facebench.detectors.pyramidbox.weights_io import load_pyramidbox_weights
        net = PyramidBoxNet()
        if weights:
            load_pyramidbox_weights(net, weights)
        return net.eval()
    from facebench.detectors.s3fd import s3fd_net
    return s3fd_net(precision)


def _child(model: str, scale: float, repeats: int, weights: str | None, device: str, precision: str) -> dict:
    net = _build(model, weights, precision).to(device)
    size = (round(HEIGHT * scale), round(WIDTH * scale))
    with torch.no_grad():
        net(torch.zeros(1, 3, 64, 64, device=device))  # warm-up (allocator, kernels)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        x = torch.randn(1, 3, *size, device=device) * 60
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            with autocast(x.device, precision):
                net(x)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    row = {"model": model, "scale": scale, "input": f"{size[1]}x{size[0]}", "forward_s": statistics.median(times),
           "device": device, "precision": precision, "threads": torch.get_num_threads(),
           "load_avg_1min": os.getloadavg()[0]}
    if device.startswith("cuda"):
        row["peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 2**30
    row["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    row["rss_before_forward_gb"] = base_rss
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default=f"1,{(2000**2 / (HEIGHT * WIDTH)) ** 0.5:.4f}")
    parser.add_argument("--models", default="pyramidbox,s3fd")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        model, scale = args.child.split(":")
        print(json.dumps(_child(model, float(scale), args.repeats, args.weights, args.device, args.precision)))
        return
    print("| model | scale | input | forward s | peak RSS GB | RSS before forward GB | threads | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        for scale in args.scales.split(","):
            cmd = [sys.executable, __file__, "--child", f"{model}:{scale}", "--repeats", str(args.repeats),
                   "--device", args.device, "--precision", args.precision]
            cmd += ["--threads", str(args.threads)] if args.threads else []
            cmd += ["--weights", args.weights] if args.weights and model == "pyramidbox" else []
            row = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
            print(f"| {row['model']} | {float(row['scale']):.2f} | {row['input']} | {row['forward_s']:.2f} | "
                  f"{row['peak_rss_gb']:.2f} | {row['rss_before_forward_gb']:.2f} | {row['threads']} | "
                  f"{row['load_avg_1min']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
