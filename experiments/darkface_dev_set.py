"""A real DARK FACE development set, kept apart from the 10-image test sample: four of the "unlabelled"
night frames in `dark_real/darkface_unlabelled` are labelled DARK FACE images, and their official boxes
are in `darkface_labels_all6000`.

How the frames were identified (`--check` repeats it): each frame is enhanced with SCI, RetinaFace finds
faces (score > 0.5), and every one of the 6,000 official label sets is scored by how many detections it
matches at IoU > 0.5. On the 10 sample images (labels known) the best set was the right one, and unique,
for all six with two or more matches; a single detection cannot decide. For the unlabelled frames the
best set was kept only when it had two or more matches, was unique, and drawing its boxes on the frame
put each box on a face (checked by eye): frames 1, 2, 4 and 6 (21 faces). Frame 3's two best sets tie
(3579 and 4120; drawn, 4120's boxes lie near but not on the faces: a neighbouring frame of the same
video), and frames 5, 7, 8 and 9 have at most one matched detection. The four frames were among MLSM's
unpaired dark training photos (VAE_C, no labels); the sample images were never used in training.

    python experiments/darkface_dev_set.py --frames ../shared/data/dark_real/darkface_unlabelled \
        --labels ../shared/data/darkface_labels_all6000 --out DEVSET [--check]

writes DEVSET/image/<id>.png and DEVSET/label/<id>.txt (DARK FACE layout: count, then x1 y1 x2 y2) for
`facebench eval --data DEVSET`.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List, Tuple

import click
import numpy as np
import torch
from torchvision.ops import box_iou

from facebench.atomic import write_text_atomic
from facebench.datasets import DatasetError, read_image
from facebench.datasets.darkface import label_text
from facebench.datasets.regdet import read_regdet
from facebench.plugin_api import Detector, Enhancer
from facebench.plugins import build_detector, build_enhancer

# frame file in darkface_unlabelled -> its official DARK FACE image name (verified as described above)
IDENTIFIED = {"1.png": "3972.png", "2.png": "961.png", "4.png": "2269.png", "6.png": "467.png"}


def read_official_labels(folder: Path) -> Dict[str, np.ndarray]:
    """{image name: float64 [N, 4] boxes x1 y1 x2 y2} from the REGDet-layout `train.txt` + `test.txt`;
    DatasetError names a missing file, or the file and line of a malformed entry."""
    labels = {}
    for name in ("train.txt", "test.txt"):
        path = folder / name
        if not path.is_file():
            raise DatasetError(f"{path}: not found (expected the REGDet-layout DARK FACE labels)")
        labels.update({image: boxes for _, image, boxes in read_regdet(path)})
    return labels


def rank_label_sets(detections: np.ndarray, labels: Dict[str, np.ndarray], iou: float = 0.5
                    ) -> List[Tuple[int, str]]:
    """(matched detections, image name) for every label set, best first: a detection (x1 y1 x2 y2) is
    matched when some box of the set overlaps it at IoU > `iou`."""
    if len(detections) == 0:
        return []
    found = torch.as_tensor(detections, dtype=torch.float64)
    scores = [(int((box_iou(found, torch.as_tensor(boxes)).max(1).values > iou).sum()), name)
              for name, boxes in labels.items() if len(boxes)]
    return sorted(scores, key=lambda s: (-s[0], s[1]))


def write_dev_set(frames: Path, labels: Dict[str, np.ndarray], out: Path) -> int:
    """Copy the identified frames to out/image/<id>.png with out/label/<id>.txt; returns the face count."""
    (out / "image").mkdir(parents=True, exist_ok=True)
    (out / "label").mkdir(parents=True, exist_ok=True)
    faces = 0
    for frame, image_id in IDENTIFIED.items():
        if not (frames / frame).is_file():
            raise DatasetError(f"{frames / frame}: frame not found (expected darkface_unlabelled/{frame})")
        shutil.copyfile(frames / frame, out / "image" / image_id)
        write_text_atomic(out / "label" / f"{Path(image_id).stem}.txt", label_text(labels[image_id]))
        faces += len(labels[image_id])
    return faces


def _detections(path: Path, enhancer: Enhancer, detector: Detector) -> np.ndarray:
    """Detector boxes (score > 0.5) on the enhanced frame, float64 [N, 4]."""
    rgb = torch.from_numpy(read_image(path)).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        found = detector.detect(enhancer.enhance(rgb))[0]
    return found[found[:, 4] > 0.5, :4].double().numpy()


@click.command()
@click.option("--frames", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="darkface_unlabelled folder (1.png ... 9.png).")
@click.option("--labels", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="darkface_labels_all6000 folder (train.txt, test.txt).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--check", is_flag=True, help="Re-identify every frame (SCI + RetinaFace, needs SCI's weights).")
def main(frames: Path, labels: Path, out: Path, check: bool) -> None:
    """Write the four-image real DARK FACE development set (21 faces)."""
    official = read_official_labels(labels)
    if check:
        enhancer, detector = build_enhancer("sci"), build_detector("retinaface")
        for frame in sorted(p.name for p in frames.glob("*.png")):
            ranked = rank_label_sets(_detections(frames / frame, enhancer, detector), official)
            click.echo(f"{frame}: best {ranked[:3]}  table: {IDENTIFIED.get(frame, '-')}")
    faces = write_dev_set(frames, official, out)
    click.echo(f"wrote {len(IDENTIFIED)} images, {faces} faces to {out}")


if __name__ == "__main__":
    main()
