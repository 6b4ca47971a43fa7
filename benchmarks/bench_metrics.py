"""Benchmark: time of every detection metric on a DARK FACE-sized synthetic evaluation.

6,000 images with the real DARK FACE ground truth (../shared/data/darkface_labels_all6000, REGDet
layout `name N x y w h 1 ...`; random face-sized boxes when absent) and ~50 synthetic detections per
image (jittered hits, duplicates, false positives). Times: all point estimates (official AP at 3 IoUs
+ COCO AP at 3 IoUs x 4 size bins), the 1000-resample bootstrap of all of them, and a paired bootstrap
of two detection sets. Prints a markdown row for benchmarks/README.md.

    python benchmarks/bench_metrics.py [--images 6000] [--dets 50] [--resamples 1000]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from facebench.metrics.bootstrap import coco_samples, official_samples, prepare, resample_weights
from facebench.metrics.coco import RECALL_THRESHOLDS
from facebench.metrics.evaluator import evaluate_detections
from facebench.metrics.paired import compare_detections
from facebench.metrics.settings import MetricSettings

LABELS = Path(__file__).resolve().parents[2] / "shared" / "data" / "darkface_labels_all6000"


def _regdet_boxes(images: int) -> list:
    """Ground truth per image, float64 [M, 4] x1 y1 x2 y2, from the REGDet label files."""
    boxes = []
    for name in ("train.txt", "test.txt"):
        for line in (LABELS / name).read_text().splitlines():
            fields = line.split()
            if len(fields) < 2:
                continue
            xywh = np.array(fields[2:2 + 5 * int(fields[1])], dtype=np.float64).reshape(-1, 5)[:, :4]
            boxes.append(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1))
    return boxes[:images]


def _random_boxes(rng: np.random.Generator, count: int) -> np.ndarray:
    size = np.exp(rng.normal(np.log(11.5), 0.6, count))  # DARK FACE: median face 11.5 px
    xy = rng.uniform([0, 200], [1080 - 40, 720 - 40], (count, 2))
    return np.concatenate([xy, xy + size[:, None]], axis=1)


def _ground_truth(rng: np.random.Generator, images: int) -> dict:
    boxes = _regdet_boxes(images) if (LABELS / "train.txt").is_file() else []
    while len(boxes) < images:
        boxes.append(_random_boxes(rng, int(rng.integers(1, 15))))
    return {str(i + 1): b for i, b in enumerate(boxes)}


def _detections(rng: np.random.Generator, gts: dict, per_image: int) -> dict:
    dets = {}
    for key, gt in gts.items():
        hits = gt[rng.random(len(gt)) < 0.7]
        hits = np.concatenate([hits, hits[rng.random(len(hits)) < 0.2]])  # duplicates
        size = (hits[:, 2:] - hits[:, :2]).mean(axis=1, keepdims=True)
        hits = hits + rng.normal(0, 0.15, hits.shape) * size
        hits[:, 2:] = np.maximum(hits[:, 2:], hits[:, :2] + 1)
        boxes = np.concatenate([hits, _random_boxes(rng, max(per_image - len(hits), 0))])
        scores = np.concatenate([rng.beta(5, 2, len(hits)), rng.beta(2, 5, len(boxes) - len(hits))])
        dets[key] = np.concatenate([boxes, scores[:, None]], axis=1)
    return dets


class _Timer:
    """Wall and CPU seconds of a block (the CPU time shows how much the wall time waited for a shared CPU)."""

    def __enter__(self) -> "_Timer":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.1f} s ({self.cpu:.1f} s CPU)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6000)
    parser.add_argument("--dets", type=int, default=50, help="detections per image")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    gts = _ground_truth(rng, args.images)
    dets_a, dets_b = _detections(rng, gts, args.dets), _detections(rng, gts, args.dets)
    settings = MetricSettings(resamples=args.resamples)

    with _Timer() as t_point:
        result = evaluate_detections(gts, dets_a, MetricSettings(resamples=0))
    prepared = prepare(gts, dets_a, settings)
    with _Timer() as t_official:
        weights = resample_weights(len(gts), settings.resamples, settings.seed)
        official_samples(prepared.official, weights)
    with _Timer() as t_coco:
        coco_samples(prepared.coco.matches, weights, RECALL_THRESHOLDS)
    with _Timer() as t_paired:
        compare_detections(gts, dets_a, dets_b, settings)

    n_dets = sum(len(d) for d in dets_a.values())
    ap_off, ap_coco = result["official"]["iou"]["0.5"]["ap"], result["coco"]["iou"]["0.5"]["all"]["ap"]
    print(f"# {len(gts)} images, {result['num_faces']} faces, {n_dets} detections; "
          f"AP50 official {ap_off:.3f}, COCO {ap_coco:.3f}; {settings.resamples} resamples")
    print("| benchmark | images x dets | all APs (official 3 IoU + COCO 3 IoU x 4 bins) "
          "| bootstrap official | bootstrap COCO | paired (2 sets, all APs + bootstrap) | machine |")
    print("|---|---|---|---|---|---|---|")
    print(f"| bench_metrics.py | {len(gts)} x ~{n_dets / len(gts):.0f} | {t_point} | {t_official} | {t_coco} "
          f"| {t_paired} | {platform.machine()}, {os.cpu_count()} CPU |")


if __name__ == "__main__":
    main()
