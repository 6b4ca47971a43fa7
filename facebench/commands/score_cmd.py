"""`facebench score --data GT --pred DIR`: score any detector's per-image prediction files."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from facebench.datasets import DatasetError, load_dataset
from facebench.detections_io import read_detections
from facebench.evaluation import IOU_THRESHOLDS, PROTOCOLS, ap_entry, evaluate_detections
from facebench.atomic import write_json_atomic


@click.command("score")
@click.option("--data", required=True, type=click.Path(exists=True),
              help="Ground truth: DARK FACE folder, a folder of <id>.txt label files, REGDet, WIDER or COCO.")
@click.option("--pred", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of <id>.txt files, one 'x1 y1 x2 y2 score' line per detection (official format).")
@click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=0, show_default=True)
@click.option("--out", type=click.Path(), help="Write the metrics as JSON here.")
def score_cmd(data, pred, bootstrap, seed, out):
    """AP at IoU 0.3 / 0.5 / 0.7 (official DARK FACE protocol and COCO-style) of prediction files."""
    try:
        dataset = load_dataset(data, require_images=False)
        dets = read_detections(pred)
    except (DatasetError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    gts = {s.image_id: np.asarray(s.boxes) for s in dataset.samples}
    unknown = sorted(set(dets) - set(gts))
    if unknown:
        raise click.ClickException(f"{Path(pred) / (unknown[0] + '.txt')}: no ground truth for image id "
                                   f"{unknown[0]!r} in {data} ({len(unknown)} such files)")
    missing = len(set(gts) - set(dets))
    if missing:
        click.echo(f"note: {missing} of {len(gts)} images have no prediction file (scored as no detections)", err=True)
    metrics = evaluate_detections(gts, {k: dets.get(k, np.zeros((0, 5))) for k in gts}, bootstrap=bootstrap, seed=seed)
    click.echo(f"{len(gts)} images, {sum(len(g) for g in gts.values())} faces, "
               f"{sum(len(d) for d in dets.values())} detections")
    for protocol in PROTOCOLS:
        cells = []
        for iou in IOU_THRESHOLDS:
            entry = ap_entry(metrics, protocol, iou)
            ci = entry["ci"]
            cells.append(f"AP@{iou}: {entry['ap']:.6f}" + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""))
        click.echo(f"{protocol:>8}  " + "   ".join(cells))
    if out:
        write_json_atomic(out, {"data": str(Path(data).resolve()), "pred": str(Path(pred).resolve()), "metrics": metrics})
