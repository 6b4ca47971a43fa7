"""The MLSM paper's ablations (Tables V and VI) on one training budget, written as Table V/VI-shaped results.

Variants (each trained from scratch with the same data, steps, batch, crop, lr and seed):
    k3           the full model: 3 levels, a mapping network at every level (Table VI "3-level")
    k3-map1/2    3 levels, mapping on the top 1 / 2 levels only, both VAEs decoding from those levels
                 (Table VI "1-level", "2-level": the paper maps "only the top level", "top and middle")
    k1, k2       1- and 2-level VAEs, every level mapped (fewer levels altogether; beyond the paper)
    latent8/32   the full model with 8 / 32 latent channels in both VAEs
    no-mapping   VAE_C's encoder-decoder structure trained image-to-image (Table V)
Per variant: PSNR / SSIM / PSNR-B at QF 90 and 60 on the SICE test pairs (the last `--test-count` pairs
of `--paired`, never loaded in training) and official AP@0.5 on a DARK FACE folder at QF 90 with
RetinaFace. Each variant's row goes to RESULTS/<variant>.json with the exact command that trained it
(RESULTS defaults to OUT); RESULTS/ablations.md and ablations.json, rewritten after every variant, hold
every row measured so far.
A variant whose row exists for the same command is not trained again, so a sweep longer than a session
continues where it stopped when RESULTS is kept (the run folders in OUT need not be).

    python experiments/mlsm_ablations.py --out runs/ablations --paired ../shared/data/paired/sice_part1 \
        --dark ../shared/data/dark_real --normal ../shared/data/normal_light \
        --synthetic ../shared/data/normal_light --darkface ../shared/data/darkface_sample \
        --vae-steps 400 --steps 1600
"""
from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import click
import torch

from facebench.atomic import write_text_atomic
from facebench.commands.quality_cmd import enhance_uint8
from facebench.degrade import jpeg_roundtrip
from facebench.enhancers.mlsm import MLSMEnhancer
from facebench.image_quality import QualityMeter
from facebench.pairs import find_pairs, read_pair

VARIANTS: Dict[str, List[str]] = {
    "k3": [],
    "k3-map1": ["--map-levels", "1"],
    "k3-map2": ["--map-levels", "2"],
    "k1": ["--levels", "1"],
    "k2": ["--levels", "2"],
    "latent8": ["--latent-channels", "8"],
    "latent32": ["--latent-channels", "32"],
    "no-mapping": ["--no-mapping"],
}
QFS = (90, 60)


def _train_command(out: Path, variant: str, data_args: Sequence[str], budget: Sequence[str]) -> List[str]:
    steps = list(budget)
    if variant == "no-mapping":  # one image-to-image stage gets the steps of all three stages
        vae, mapping = int(budget[budget.index("--vae-steps") + 1]), int(budget[budget.index("--steps") + 1])
        steps = ["--steps", str(2 * vae + mapping)]
    return ["facebench", "train-enhancer", "mlsm", "--out", str(out), *data_args, *steps, *VARIANTS[variant]]


def _quality(weights: Path, pairs) -> Dict[str, float]:
    enhancer = MLSMEnhancer(weights=str(weights))
    meters = {qf: QualityMeter() for qf in QFS}
    for low, high in pairs:
        for qf in QFS:
            meters[qf].process(enhance_uint8(enhancer, jpeg_roundtrip(low, qf), torch.device("cpu")), high)
    return {f"{key}@{qf}": value for qf, meter in meters.items() for key, value in meter.evaluate().items()
            if key != "count"}


def _detection_ap(weights: Path, darkface: str, out: Path) -> float:
    """Official AP@0.5 of `mlsm` with these weights on `darkface` at QF 90 (RetinaFace)."""
    cmd = ["facebench", "eval", "--data", darkface, "--enhancer", "mlsm", "--weights", f"mlsm={weights}",
           "--qf", "90", "--bootstrap", "0", "--out", str(out)]
    subprocess.run(cmd, check=True)
    results = json.loads((out / "results.json").read_text())
    run = next(r for r in results["runs"] if r["enhancer_spec"] == "mlsm")
    return run["metrics"]["official"]["iou"]["0.5"]["ap"]


def _saved_row(path: Path, key: Dict[str, str]) -> Optional[Dict]:
    """The row measured earlier with this training command and DARK FACE folder, or None if there is none."""
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    measured_for = {k: saved.get(k) for k in key}
    if measured_for != key:
        raise click.ClickException(f"{path}: measured for {json.dumps(measured_for)}, not {json.dumps(key)}; "
                                   "use another --results folder (or delete the file)")
    return saved["row"]


def _markdown(rows: List[Dict], commands: Dict[str, str]) -> str:
    head = "| variant | " + " | ".join(f"{m} QF{qf}" for qf in QFS for m in ("PSNR", "SSIM", "PSNR-B")) + \
        " | AP@0.5 QF90 |"
    lines = [head, "|" + "---|" * (2 + 3 * len(QFS))]
    for r in rows:
        cells = [f"{r[f'psnr@{qf}']:.2f} | {r[f'ssim@{qf}']:.4f} | {r[f'psnr_b@{qf}']:.2f}" for qf in QFS]
        lines.append(f"| {r['variant']} | " + " | ".join(cells) + f" | {r['ap50']:.4f} |")
    lines += ["", "Commands:", ""] + [f"- {v}: `{c}`" for v, c in commands.items()]
    return "\n".join(lines) + "\n"


def _write_tables(results: Path) -> str:
    """Write RESULTS/ablations.json and ablations.md from every row saved there; returns the markdown."""
    saved = {v: json.loads((results / f"{v}.json").read_text()) for v in VARIANTS if (results / f"{v}.json").is_file()}
    rows, commands = [s["row"] for s in saved.values()], {v: s["command"] for v, s in saved.items()}
    write_text_atomic(results / "ablations.json", json.dumps({"rows": rows, "commands": commands}, indent=2))
    text = _markdown(rows, commands)
    write_text_atomic(results / "ablations.md", text)
    return text


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder for all variants.")
@click.option("--paired", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--dark", multiple=True, type=click.Path(exists=True, file_okay=False))
@click.option("--normal", multiple=True, type=click.Path(exists=True, file_okay=False))
@click.option("--synthetic", multiple=True, type=click.Path(exists=True, file_okay=False))
@click.option("--darkface", required=True, type=click.Path(exists=True, file_okay=False),
              help="DARK FACE folder (image/ + label/) for AP@0.5.")
@click.option("--test-count", default=15, show_default=True, help="Last pairs of --paired kept for testing.")
@click.option("--vae-steps", default=400, show_default=True)
@click.option("--steps", default=1600, show_default=True)
@click.option("--variant", "variants", multiple=True, type=click.Choice(list(VARIANTS)),
              help="Variants to run (default: all).")
@click.option("--extra", default="", help="More train-enhancer options for every variant, e.g. '--threads 2'.")
@click.option("--results", type=click.Path(file_okay=False),
              help="Folder for the rows and tables (default: --out); keep it to continue a sweep later.")
def main(out, paired, dark, normal, synthetic, darkface, test_count, vae_steps, steps, variants, extra, results):
    """Train every ablation variant on the same budget, then measure quality and detection."""
    out = Path(out)
    data_args = ["--paired", paired, "--test-count", str(test_count), "--perceptual", "ssim", "--no-progress",
                 *[a for d in dark for a in ("--dark", d)], *[a for d in normal for a in ("--normal", d)],
                 *[a for d in synthetic for a in ("--synthetic", d)], *shlex.split(extra)]
    budget = ["--vae-steps", str(vae_steps), "--steps", str(steps)]
    results = Path(results) if results else out
    results.mkdir(parents=True, exist_ok=True)
    test_pairs = [read_pair(p) for p in find_pairs(paired)[-test_count:]]
    for variant in variants or list(VARIANTS):
        run = out / variant
        cmd = _train_command(run, variant, data_args, budget)
        key = {"command": shlex.join(cmd), "darkface": darkface}
        if _saved_row(results / f"{variant}.json", key) is not None:
            click.echo(f"{variant}: already measured ({results / f'{variant}.json'})")
            continue
        subprocess.run(cmd + (["--resume"] if run.is_dir() else []), check=True)  # finished stages are skipped
        row = {"variant": variant, **_quality(run / "mlsm.pt", test_pairs),
               "ap50": _detection_ap(run / "mlsm.pt", darkface, run / "eval")}
        write_text_atomic(results / f"{variant}.json", json.dumps({**key, "row": row}, indent=2))
        click.echo(json.dumps(row))
        _write_tables(results)
    click.echo(_write_tables(results))


if __name__ == "__main__":
    main()
