"""Throughput of `facebench eval`'s pipeline: vs a naive per-image loop, and one decode per QF in a sweep.

Default: both sides read each image, JPEG-compress it at QF 90, enhance it, quantise to 8 bit and run
the detector; the pipeline decodes in worker processes and batches, the naive loop does one image at a
time in one process. Detections must agree (same boxes), so the comparison is of the same work.

`--sweep none,gamma,...`: a sweep of those enhancers x `--qfs`, run the way a sweep ran before (one pass
per (QF, enhancer), each reading and JPEG-compressing every image again) and the way it runs now (one
pass per QF: each image read and compressed once, the frame handed to every enhancer), alternating
round by round; detections must be identical.

    python benchmarks/bench_pipeline.py [--data DIR] [--limit 24] [--repeat 1] [--enhancer gamma]
                                        [--batch-size 4] [--workers 2]
    python benchmarks/bench_pipeline.py --sweep none,gamma,he,clahe,he+gamma --qfs 90,70 [--data DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import torch

from facebench.cache import DetectionCache
from facebench.datasets import FaceDataset, load_dataset, read_image
from facebench.datasets.dataset import make_sample
from facebench.degrade import jpeg_roundtrip
from facebench.pipeline import (EnhancerPass, PipelineSettings, collect, quantize, run_detection,
                                run_detection_passes, to_tensor)
from facebench.plugins import build_detector, build_enhancer


def naive_loop(dataset, enhancer, detector):
    """image_id -> detections, one image at a time, everything in this process."""
    out = {}
    with torch.inference_mode():
        for sample in dataset.samples:
            image = jpeg_roundtrip(read_image(sample.image_path), 90)
            enhanced = quantize(enhancer.enhance(to_tensor([image], detector.device)))
            out[sample.image_id] = detector.detect(enhanced)[0].double().cpu().numpy()
    return out


def repeated(dataset: FaceDataset, times: int) -> FaceDataset:
    """The dataset's images `times` over, with ids '<id>-r<k>' (a bigger job from a small sample)."""
    samples = [make_sample(f"{s.image_id}-r{k}", s.image_path, s.boxes) for k in range(times) for s in dataset.samples]
    return FaceDataset(f"{dataset.name} x{times}", dataset.format, dataset.root, samples, dataset.synthetic)


def sweep(dataset: FaceDataset, specs: list, qfs: list, detector, settings: PipelineSettings, shared: bool,
          root: str) -> tuple:
    """A sweep's detection passes into caches under `root`: ((wall s, CPU s), {(qf, spec): detections})."""
    enhancers = {spec: build_enhancer(spec) for spec in specs}
    caches = {(qf, spec): DetectionCache(root, {"qf": qf, "enhancer": spec}) for qf in qfs for spec in specs}
    start, cpu = time.perf_counter(), time.process_time()
    for qf in qfs:
        if shared:
            run_detection_passes(dataset, qf, [EnhancerPass(enhancers[s], caches[qf, s]) for s in specs], detector,
                                 settings)
        else:
            for spec in specs:
                run_detection(dataset, qf, enhancers[spec], detector, caches[qf, spec], settings)
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    return seconds, {key: collect(dataset, cache) for key, cache in caches.items()}


def sweep_comparison(args, dataset: FaceDataset, detector) -> None:
    specs, qfs = args.sweep.split(","), [int(q) for q in args.qfs.split(",")]
    settings = PipelineSettings(batch_size=args.batch_size, workers=args.workers, progress=False)
    times, results = {False: [], True: []}, {}
    for _ in range(args.rounds):  # alternating, median: the machine's load drifts
        for shared in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                seconds, results[shared] = sweep(dataset, specs, qfs, detector, settings, shared, tmp)
            times[shared].append(seconds)
    same = all(np.array_equal(results[False][key][image], results[True][key][image])
               for key in results[False] for image in results[False][key])
    n = len(dataset) * len(specs) * len(qfs)
    h, w = read_image(dataset.samples[0].image_path).shape[:2]
    before, after = ([statistics.median(v) for v in zip(*times[shared])] for shared in (False, True))
    print(f"{len(dataset)} images {w}x{h} x {len(specs)} enhancers ({', '.join(specs)}) x QF {args.qfs}, detector "
          f"{args.detector}, batch {args.batch_size}, {args.workers} workers, torch threads {torch.get_num_threads()}, "
          f"median of {args.rounds} alternating rounds, load average {os.getloadavg()[0]:.1f}; identical detections: {same}")
    print("| sweep | reads + JPEG round trips | wall s (CPU s) | wall s per (image, enhancer, QF) "
          "| speed-up, wall (CPU) |")
    print("|---|---|---|---|---|")
    print(f"| one pass per (QF, enhancer) (before) | {n} | {before[0]:.1f} ({before[1]:.1f}) | {before[0] / n:.3f} "
          f"| 1.00x |")
    print(f"| one pass per QF, frames shared (after) | {len(dataset) * len(qfs)} | {after[0]:.1f} ({after[1]:.1f}) "
          f"| {after[0] / n:.3f} | {before[0] / after[0]:.2f}x ({before[1] / after[1]:.2f}x) |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=1, help="use every image this many times")
    parser.add_argument("--enhancer", default="gamma")
    parser.add_argument("--detector", default="retinaface")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved repetitions; the best is reported")
    parser.add_argument("--sweep", help="comma-separated enhancers: compare one decode per QF with one per enhancer")
    parser.add_argument("--qfs", default="90,70", help="QFs of --sweep")
    args = parser.parse_args()
    dataset = repeated(load_dataset(args.data, limit=args.limit), args.repeat)
    enhancer, detector = build_enhancer(args.enhancer), build_detector(args.detector)
    naive_loop(load_dataset(args.data, limit=2), enhancer, detector)  # warm-up (ORT session, caches)
    if args.sweep:
        sweep_comparison(args, dataset, detector)
        return

    settings = PipelineSettings(batch_size=args.batch_size, workers=args.workers, progress=False)
    naive_times, pipeline_times = [], []
    for _ in range(args.rounds):  # interleaved, best of N: the machine's load drifts
        t0 = time.perf_counter()
        naive = naive_loop(dataset, enhancer, detector)
        naive_times.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as tmp:
            cache = DetectionCache(tmp, {"bench": time.time()})
            t0 = time.perf_counter()
            run_detection(dataset, 90, enhancer, detector, cache, settings)
            pipeline_times.append(time.perf_counter() - t0)
            piped = collect(dataset, cache)
    naive_s, pipeline_s = min(naive_times), min(pipeline_times)
    worst = max(np.abs(piped[k][:, :4] - naive[k][:, :4]).max(initial=0) for k in naive if len(naive[k]) == len(piped[k]))
    same_counts = all(len(naive[k]) == len(piped[k]) for k in naive)
    n = len(dataset)
    h, w = read_image(dataset.samples[0].image_path).shape[:2]
    print(f"{n} images {w}x{h}, enhancer {args.enhancer}, detector {args.detector}, torch threads "
          f"{torch.get_num_threads()}; same detection counts: {same_counts}, max box difference {worst:.2e} px")
    print("| path | images/s | s/image | speed-up |")
    print("|---|---|---|---|")
    print(f"| naive per-image loop | {n / naive_s:.2f} | {naive_s / n:.3f} | 1.00x |")
    print(f"| facebench pipeline (batch {args.batch_size}, {args.workers} workers) | {n / pipeline_s:.2f} | "
          f"{pipeline_s / n:.3f} | {naive_s / pipeline_s:.2f}x |")


if __name__ == "__main__":
    main()
