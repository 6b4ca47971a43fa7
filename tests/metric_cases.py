"""Detection sets the metric tests share: the official fixture, random sets, adversarial sets."""
from pathlib import Path

import numpy as np

from facebench.detections_io import read_detections


def read_label_folder(folder: Path, ids: list) -> dict:
    """DARK FACE label files: first line N, then N lines `x1 y1 x2 y2`."""
    gts = {}
    for i in ids:
        lines = (folder / f"{i}.txt").read_text().split("\n")
        n = int(lines[0])
        gts[i] = np.array([[float(v) for v in line.split()[:4]] for line in lines[1:1 + n]]).reshape(-1, 4)
    return gts


def fixture_sets(shared: Path) -> tuple:
    """(gts, dets, folder) of specs/darkface_eval: 60 real label files, synthetic predictions."""
    spec = shared / "specs" / "darkface_eval"
    ids = [Path(line.strip()).stem for line in (spec / "file_list.txt").read_text().splitlines() if line.strip()]
    return read_label_folder(spec / "gt", ids), read_detections(spec / "pred", ids), spec


def synthetic(seed: int, images: int = 25) -> tuple:
    """Random faces with jittered hits, duplicates and false positives; all scores distinct."""
    rng = np.random.default_rng(seed)
    gts, dets = {}, {}
    for i in range(images):
        xy = rng.uniform(0, 300, (int(rng.integers(0, 8)), 2))
        gts[str(i)] = np.concatenate([xy, xy + rng.uniform(5, 45, (len(xy), 1))], axis=1)
        hits = np.repeat(gts[str(i)], rng.integers(0, 3, len(xy)), axis=0)
        hits = hits + rng.normal(0, 2, hits.shape)
        hits[:, 2:] = np.maximum(hits[:, 2:], hits[:, :2] + 1)
        fp_xy = rng.uniform(0, 300, (int(rng.integers(0, 6)), 2))
        boxes = np.concatenate([hits, np.concatenate([fp_xy, fp_xy + 20], axis=1)])
        dets[str(i)] = np.concatenate([boxes, rng.random((len(boxes), 1))], axis=1)
    return gts, dets


def adversarial(seed: int, images: int = 30) -> tuple:
    """Sets that hit every tie and edge of both protocols: integer boxes (IoUs exactly at 0.3/0.5/0.7),
    duplicated faces (equal IoUs), repeated scores, inverted and zero-area detections, empty images,
    images without a detection entry, faces in every size bin."""
    rng = np.random.default_rng(seed)
    gts, dets = {}, {}
    for i in range(images):
        m = int(rng.integers(0, 12))
        xy = rng.integers(0, 60, (m, 2)).astype(float)
        g = np.concatenate([xy, xy + rng.integers(0, 40, (m, 2))], axis=1)
        if m > 2 and rng.random() < 0.5:
            g[1] = g[0]
        gts[str(i)] = g
        n = int(rng.integers(0, 40))
        source = g[rng.integers(0, m, n)] if m else rng.integers(0, 60, (n, 4)).astype(float)
        boxes = source + rng.integers(-4, 5, (n, 4))
        if rng.random() < 0.5:
            boxes = boxes + rng.normal(0, 0.3, (n, 4)) * (rng.random((n, 1)) < 0.3)
        flip = rng.random(n) < 0.1
        boxes[flip] = boxes[flip][:, [2, 3, 0, 1]]
        zero = rng.random(n) < 0.05
        boxes[zero, 2] = boxes[zero, 0]
        scores = rng.choice([0.1, 0.5, 0.9, 0.3], n) if rng.random() < 0.5 else rng.random(n)
        if rng.random() > 0.1:
            dets[str(i)] = np.concatenate([boxes, scores[:, None]], axis=1)
    return gts, dets


def repeat_images(gts: dict, dets: dict, weights: np.ndarray) -> tuple:
    """The data set with image k present weights[k] times (new ids)."""
    rep_g, rep_d = {}, {}
    for w, key in zip(weights, gts):
        for c in range(int(w)):
            rep_g[f"{key}#{c}"], rep_d[f"{key}#{c}"] = gts[key], dets.get(key, np.zeros((0, 5)))
    return rep_g, rep_d
