"""MLSM on this CPU: inference time and peak memory vs image size, and one training step's time.

    python benchmarks/bench_mlsm.py --threads 1 [--weights RUN/mlsm.pt] [--repeats 3]

Every measurement runs in a fresh subprocess so its peak resident set size (`resource.getrusage`
ru_maxrss, which counts torch's allocations, unlike tracemalloc) belongs to that measurement alone.
Reported per size: median wall time of `MLSMEnhancer.enhance` on one image after one warm-up run,
the process's peak RSS, and the peak minus the RSS after the model was loaded (what inference adds).
Sizes: 540x360, 1080x720 (DARK FACE), 2160x1440 with the plugin's default tiling (tiles of at most
1152 px, 64 px overlap: the first two run in one pass), plus 1080x720 in 512 px tiles to show how
tiling bounds memory.
Training step: one generator + discriminator step of each stage, default config, batch 4, 256x256 crops
(the shipped recipe).
Architecture cost: one 1080x720 pass of the default config with l^0 at full, 1/2 and 1/4 resolution
(`stem_downsample` 0, 1, 2; random weights: the cost does not depend on them).
`--malloc facebench` (default) raises glibc's malloc thresholds in every worker as the `facebench` command
does (`facebench.cpu_allocator`); `--malloc glibc` keeps glibc's defaults, for the side-by-side ratio.
Prints markdown table rows.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np
import torch

from facebench.cpu_allocator import raise_malloc_thresholds

SIZES = [(360, 540), (720, 1080), (1440, 2160)]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def _infer_worker(height: int, width: int, tile: int, weights: str, repeats: int) -> Dict:
    from facebench.enhancers.mlsm import MLSMEnhancer

    enhancer = MLSMEnhancer(weights=weights or None, tile=tile)
    image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0)) * 0.2
    loaded = _rss_mb()
    enhancer(image)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        enhancer(image)
        times.append(time.perf_counter() - start)
    peak = _rss_mb()
    return {"seconds": statistics.median(times), "peak_mb": peak, "added_mb": peak - loaded}


def _train_worker() -> Dict:
    import tempfile

    from facebench.mlsm.config import LossConfig, ModelConfig
    from facebench.mlsm.data import DataConfig, TrainingData
    from facebench.mlsm.train import MLSMTrainer, TrainOptions

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (320, 320, 3), dtype=np.uint8) for _ in range(4)]
    data = TrainingData(DataConfig(), pairs=[(im // 6, im) for im in images], dark=images, normal=images)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        trainer = MLSMTrainer(ModelConfig(), LossConfig(perceptual_kind="ssim"), data,
                              TrainOptions(out_dir=tmp, batch_size=4, progress=False))
        trainer.metadata["stages"] = {"vae-dark": {}, "vae-normal": {}}
        for name in ("vae-dark", "mapping"):
            stage = trainer._stage(name)
            trainer._prepare(stage)
            parts = trainer.optimizers(stage)
            trainer.step(stage, *parts, 0)  # warm-up
            start = time.perf_counter()
            for step in range(1, 4):
                trainer.step(stage, *parts, step)
            out[name] = (time.perf_counter() - start) / 3
    return out


def _stem_worker(stem: int, repeats: int) -> Dict:
    from facebench.mlsm.config import ModelConfig
    from facebench.mlsm.inference import enhance_padded
    from facebench.mlsm.model import MLSM

    model = MLSM(ModelConfig(stem_downsample=stem)).eval()
    image = torch.rand(1, 3, 720, 1080, generator=torch.Generator().manual_seed(0)) * 0.2
    loaded = _rss_mb()
    times = []
    with torch.no_grad():
        enhance_padded(model, image)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            enhance_padded(model, image)
            times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "added_mb": _rss_mb() - loaded}


def _run(args: List[str], threads: int, malloc: str) -> Dict:
    cmd = [sys.executable, __file__, "--threads", str(threads), "--malloc", malloc, *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--weights", default="", help="MLSM checkpoint (default: the shipped weights)")
    parser.add_argument("--malloc", choices=["facebench", "glibc"], default="facebench",
                        help="facebench: the `facebench` command's malloc thresholds; glibc: glibc's defaults")
    parser.add_argument("--worker", choices=["infer", "train", "stem"], help=argparse.SUPPRESS)
    parser.add_argument("--stem", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--size", default="720x1080", help=argparse.SUPPRESS)
    parser.add_argument("--tile", type=int, default=1152, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.worker and args.malloc == "facebench":
        raise_malloc_thresholds()
    if args.worker == "infer":
        h, w = map(int, args.size.split("x"))
        print(json.dumps(_infer_worker(h, w, args.tile, args.weights, args.repeats)))
        return
    if args.worker == "train":
        print(json.dumps(_train_worker()))
        return
    if args.worker == "stem":
        print(json.dumps(_stem_worker(args.stem, args.repeats)))
        return
    common = ["--repeats", str(args.repeats)] + (["--weights", args.weights] if args.weights else [])
    print(f"CPU threads: {args.threads}, malloc: {args.malloc}")
    print("| image (W x H) | pixels | tiling | time (s) | peak RSS (MB) | added by inference (MB) |")
    print("|---|---|---|---|---|---|")
    cases = [(h, w, 1152) for h, w in SIZES] + [(720, 1080, 512)]
    for h, w, tile in cases:
        r = _run(["--worker", "infer", "--size", f"{h}x{w}", "--tile", str(tile), *common], args.threads,
                 args.malloc)
        mode = f"{tile} px tiles" if max(h, w) > tile else "one pass"
        print(f"| {w} x {h} | {h * w / 1e6:.2f} M | {mode} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {r['added_mb']:.0f} |")
    r = _run(["--worker", "train"], args.threads, args.malloc)
    print(f"training step (batch 4, 256x256, default config): vae stage {r['vae-dark']:.3f} s, "
          f"mapping stage {r['mapping']:.3f} s")
    print("\n| l^0 resolution (stem_downsample) | 1080x720 one pass (s) | added by inference (MB) |")
    print("|---|---|---|")
    for stem in (0, 1, 2):
        r = _run(["--worker", "stem", "--stem", str(stem), "--repeats", str(args.repeats)], args.threads,
                 args.malloc)
        print(f"| 1/{2 ** stem} ({stem}) | {r['seconds']:.2f} | {r['added_mb']:.0f} |")


if __name__ == "__main__":
    main()
