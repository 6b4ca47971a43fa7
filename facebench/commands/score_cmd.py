"""`facebench score --data GT --pred DIR`: score any detector's per-image prediction files."""
from __future__ import annotations

from pathlib import Path
from typing import List

import click


def _folders_with_predictions(pred: Path) -> List[Path]:
    """Folders below `pred` (not `pred` itself) that hold .txt files, sorted."""
    return sorted({p.parent for p in pred.rglob("*.txt") if p.parent != pred})


def _no_predictions_message(pred: Path) -> str:
    """One line for a --pred folder in which no <id>.txt file of the ground truth was found."""
    below = _folders_with_predictions(pred)
    if below:
        return (f"{pred}: no <id>.txt prediction files in this folder, but {len(below)} folder(s) below it hold "
                f"some, e.g. {below[0]}; pass one of those (a run directory keeps detections/<qf>/<enhancer>/)")
    return f"{pred}: no <id>.txt prediction files; expected one file per image with 'x1 y1 x2 y2 score' lines"


def _ap_text(entry: dict) -> str:
    if entry["ap"] is None:
        return "undefined (no ground-truth faces)"
    ci = entry["ci"]
    return f"{entry['ap']:.6f}" + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci and None not in ci else "")


@click.command("score")
@click.option("--data", required=True, type=click.Path(exists=True),
              help="Ground truth: DARK FACE folder, a folder of <id>.txt label files, REGDet, WIDER or COCO.")
@click.option("--pred", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of <id>.txt files, one 'x1 y1 x2 y2 score' line per detection (official format); "
                   "ids with folders (WIDER) are read from matching subfolders.")
@click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=0, show_default=True)
@click.option("--out", type=click.Path(), help="Write the metrics as JSON here.")
def score_cmd(data, pred, bootstrap, seed, out):
    """AP at IoU 0.3 / 0.5 / 0.7 (official DARK FACE protocol and COCO-style) of prediction files."""
    import numpy as np

    from facebench.atomic import write_json_atomic
    from facebench.datasets import DatasetError, load_dataset
    from facebench.detections_io import read_detections
    from facebench.evaluation import IOU_THRESHOLDS, PROTOCOLS, ap_entry, evaluate_detections

    pred_dir = Path(pred)
    try:
        dataset = load_dataset(data, require_images=False)
        gts = dataset.ground_truth()
        nested = any("/" in key for key in gts)
        dets = read_detections(pred_dir, image_ids=list(gts) if nested else None,
                               on_degenerate=lambda found: click.echo(f"warning: {found.message()}", err=True))
    except (DatasetError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if not dets:
        raise click.ClickException(_no_predictions_message(pred_dir))
    unknown = sorted(set(dets) - set(gts))
    if unknown:
        raise click.ClickException(f"{pred_dir / (unknown[0] + '.txt')}: no ground truth for image id "
                                   f"{unknown[0]!r} in {data} ({len(unknown)} such files)")
    missing = len(set(gts) - set(dets))
    if missing:
        click.echo(f"note: {missing} of {len(gts)} images have no prediction file (scored as no detections)", err=True)
    metrics = evaluate_detections(gts, {k: dets.get(k, np.zeros((0, 5))) for k in gts}, bootstrap=bootstrap, seed=seed)
    click.echo(f"{len(gts)} images, {dataset.num_faces} faces, "
               f"{sum(len(d) for d in dets.values())} detections")
    for protocol in PROTOCOLS:
        cells = [f"AP@{iou}: {_ap_text(ap_entry(metrics, protocol, iou))}" for iou in IOU_THRESHOLDS]
        click.echo(f"{protocol:>8}  " + "   ".join(cells))
    if out:
        write_json_atomic(out, {"data": str(Path(data).resolve()), "pred": str(pred_dir.resolve()), "metrics": metrics})
