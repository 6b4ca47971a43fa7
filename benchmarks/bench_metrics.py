"""Benchmark: `facebench score` on 6,000 DARK FACE images, before and after the vectorised metrics.

The set: the real DARK FACE ground truth of all 6,000 images (../shared/data/darkface_labels_all6000,
REGDet layout `name N x y w h 1 ...`; seeded random face-sized boxes when absent) written as label
files, and ~50 synthetic detections per image (seeded: jittered hits, duplicates, false positives)
written as official prediction files; a second prediction set for the paired comparison.

Timed, each in a fresh process, alternating the two code versions round by round (the median is
reported; the machine may be shared, so both sides see the same load):
- `python -m facebench score --data GT --pred PRED` (all APs: official at IoU 0.3/0.5/0.7 and COCO at
  3 IoUs x 4 size bins, 1,000 bootstrap resamples for every CI), and
- a paired comparison of two 6,000-image prediction sets read from disk (`compare_detections`).
"Before" is a git revision exported with `git archive` (default: main just before the vectorised
metrics); "after" is this working tree. Both print their APs, which must agree to the digits shown.
An in-process breakdown of the new engine follows.

    python benchmarks/bench_metrics.py [--images 6000] [--dets 50] [--rounds 3] [--before-rev REV]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from facebench.detections_io import read_detections, write_detections
from facebench.metrics.bootstrap import coco_samples, official_samples, prepare, resample_weights
from facebench.metrics.coco import RECALL_THRESHOLDS
from facebench.metrics.paired import compare_detections
from facebench.metrics.settings import MetricSettings

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO.parent / "shared" / "data" / "darkface_labels_all6000"
BEFORE_REV = "dbe8683"  # main just before "Metrics: vectorised official counts and COCO matching"
OFFICIAL_TOOL_S = 156.0  # the official Octave tool, 6,000 images, one IoU (issue 10)
MAPPED = ("enhancers", "detectors", "mlsm", "experiments")  # installed as facebench.<name> (setup.py)
PAIRED = """
import sys, numpy as np
from facebench.datasets import load_dataset
from facebench.detections_io import read_detections
from facebench.metrics import MetricSettings, compare_detections
gts = {s.image_id: np.asarray(s.boxes) for s in load_dataset(sys.argv[1], require_images=False).samples}
r = compare_detections(gts, read_detections(sys.argv[2]), read_detections(sys.argv[3]), MetricSettings(resamples=1000))
print("official AP50 diff %.6f, COCO AP50 diff %.6f" % (r["official"]["0.5"]["diff"], r["coco"]["0.5"]["all"]["diff"]))
"""


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


def ground_truth(rng: np.random.Generator, images: int) -> dict:
    """image id "1".. -> float64 [M, 4] (x1, y1, x2, y2): the DARK FACE labels, or random faces without them."""
    boxes = _regdet_boxes(images) if (LABELS / "train.txt").is_file() else []
    while len(boxes) < images:
        boxes.append(np.round(_random_boxes(rng, int(rng.integers(1, 15)))))
    return {str(i + 1): b for i, b in enumerate(boxes)}


def detections(rng: np.random.Generator, gts: dict, per_image: int) -> dict:
    """~per_image detections per image: 70% of faces hit (jittered), 20% of hits duplicated, the rest
    face-sized false positives; hits score higher on average."""
    dets = {}
    for key, gt in gts.items():
        hits = gt[rng.random(len(gt)) < 0.7]
        hits = np.concatenate([hits, hits[rng.random(len(hits)) < 0.2]])
        size = (hits[:, 2:] - hits[:, :2]).mean(axis=1, keepdims=True)
        hits = hits + rng.normal(0, 0.15, hits.shape) * size
        hits[:, 2:] = np.maximum(hits[:, 2:], hits[:, :2] + 1)
        boxes = np.concatenate([hits, _random_boxes(rng, max(per_image - len(hits), 0))])
        scores = np.concatenate([rng.beta(5, 2, len(hits)), rng.beta(2, 5, len(boxes) - len(hits))])
        dets[key] = np.concatenate([boxes, scores[:, None]], axis=1)
    return dets


def write_set(folder: Path, images: int, per_image: int) -> tuple:
    """Writes gt/<id>.txt (count, then x1 y1 x2 y2) and pred_a/, pred_b/ (official format); returns the dicts."""
    rng = np.random.default_rng(0)
    gts = ground_truth(rng, images)
    dets_a, dets_b = detections(rng, gts, per_image), detections(rng, gts, per_image)
    (folder / "gt").mkdir(parents=True)
    for key, boxes in gts.items():
        rows = "".join(" ".join(f"{v:g}" for v in row) + "\n" for row in boxes.tolist())
        (folder / "gt" / f"{key}.txt").write_text(f"{len(boxes)}\n{rows}")
    write_detections(folder / "pred_a", dets_a)
    write_detections(folder / "pred_b", dets_b)
    return gts, dets_a, dets_b


def export_revision(rev: str, dest: Path) -> Path:
    """`git archive` of `rev` into dest, importable as `facebench` (mapped folders linked in, as setup.py
    installs them); returns the folder to put on PYTHONPATH."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    for name in MAPPED:
        if (dest / name).is_dir():
            (dest / "facebench" / name).symlink_to(dest / name, target_is_directory=True)
    return dest


def timed_process(args: list, pythonpath: Path, cwd: Path) -> tuple:
    """Runs `python args` in `cwd` (not a source tree: `-m` / `-c` put the working folder first on sys.path)
    with `pythonpath` first on sys.path: (wall s, CPU s of the child, stdout)."""
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable] + args, env=env, cwd=cwd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, done.stdout


def _ap_lines(stdout: str) -> list:
    """The AP lines (APs and intervals) of `facebench score`'s output."""
    return [line for line in stdout.splitlines() if line.strip().startswith(("official", "coco"))]


def _timer(f) -> tuple:
    wall, cpu = time.perf_counter(), time.process_time()
    f()
    return time.perf_counter() - wall, time.process_time() - cpu


def breakdown(folder: Path, gts: dict, dets_a: dict, dets_b: dict) -> list:
    """In-process CPU seconds of each step of the new engine (median of 3)."""
    settings = MetricSettings()
    weights = resample_weights(len(gts), settings.resamples, settings.seed)
    prepared = prepare(gts, dets_a, settings)
    steps = [(f"parse {len(gts):,} prediction files", lambda: read_detections(folder / "pred_a")),
             ("match (official counts + COCO matching, 4 bins)", lambda: prepare(gts, dets_a, settings)),
             ("bootstrap official, 1,000 resamples x 3 IoUs", lambda: official_samples(prepared.official, weights)),
             ("bootstrap COCO, 1,000 resamples x 3 IoUs x 4 bins",
              lambda: coco_samples(prepared.coco.matches, weights, RECALL_THRESHOLDS)),
             ("paired comparison in memory (2 sets, all APs + paired bootstrap)",
              lambda: compare_detections(gts, dets_a, dets_b, settings))]
    return [(label, statistics.median(_timer(f)[1] for _ in range(3))) for label, f in steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6000)
    parser.add_argument("--dets", type=int, default=50, help="detections per image")
    parser.add_argument("--rounds", type=int, default=3, help="alternating before/after rounds (median)")
    parser.add_argument("--before-rev", default=BEFORE_REV, help="git revision timed as 'before'")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gts, dets_a, dets_b = write_set(tmp / "set", args.images, args.dets)
        trees = {"before": export_revision(args.before_rev, tmp / "before"), "after": REPO}
        score = ["-m", "facebench", "score", "--data", str(tmp / "set" / "gt"), "--pred", str(tmp / "set" / "pred_a")]
        paired = ["-c", PAIRED, str(tmp / "set" / "gt"), str(tmp / "set" / "pred_a"), str(tmp / "set" / "pred_b")]
        for tree in trees.values():  # each side imports its own code
            where = timed_process(["-c", "import facebench; print(facebench.__file__)"], tree, tmp)[2]
            assert Path(where.strip()).parent.parent == tree, (tree, where)
        times = {(job, side): [] for job in ("score", "paired") for side in trees}
        outputs = {}
        for _ in range(args.rounds):
            for side, tree in trees.items():
                for job, command in (("score", score), ("paired", paired)):
                    wall, cpu, out = timed_process(command, tree, tmp)
                    times[job, side].append((wall, cpu))
                    outputs[job, side] = out
        n_dets = sum(len(d) for d in dets_a.values())
        print(f"# {len(gts)} images, {sum(len(g) for g in gts.values())} faces, {n_dets} detections per set; "
              f"before = {args.before_rev}, after = working tree; median of {args.rounds} alternating rounds; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
        same = _ap_lines(outputs["score", "before"]) == _ap_lines(outputs["score", "after"])
        print(f"# score prints the same APs before and after: {same}; paired: "
              f"{outputs['paired', 'before'].strip()} | {outputs['paired', 'after'].strip()}")
        print("| job | before: wall (CPU) | after: wall (CPU) | speed-up, wall (CPU) "
              f"| official tool ({OFFICIAL_TOOL_S:.0f} s, 1 IoU) / after, wall (CPU) |")
        print("|---|---|---|---|---|")
        for job, label in (("score", f"`facebench score`, {len(gts):,} images"),
                           ("paired", f"paired comparison, 2 x {len(gts):,} images")):
            before = [statistics.median(v) for v in zip(*times[job, "before"])]
            after = [statistics.median(v) for v in zip(*times[job, "after"])]
            ratio = f"{OFFICIAL_TOOL_S / after[0]:.0f}x ({OFFICIAL_TOOL_S / after[1]:.0f}x)" if job == "score" else "-"
            print(f"| {label} | {before[0]:.1f} s ({before[1]:.1f} s) | {after[0]:.1f} s ({after[1]:.1f} s) "
                  f"| {before[0] / after[0]:.1f}x ({before[1] / after[1]:.1f}x) | {ratio} |")
        print("\n| step of the new engine (in process) | CPU s |\n|---|---|")
        for label, cpu in breakdown(tmp / "set", gts, dets_a, dets_b):
            print(f"| {label} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
