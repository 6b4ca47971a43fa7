"""`facebench enhance --enhancer NAME [--qf Q] IN OUT`: write enhanced PNGs to look at."""
from __future__ import annotations

from pathlib import Path

import click

from facebench.commands.options import parse_device, parse_enhancer_options, parse_qfs, parse_weights


@click.command("enhance")
@click.argument("source", type=click.Path(exists=True))
@click.argument("dest", type=click.Path())
@click.option("--enhancer", required=True, help="Enhancer name or chain 'a+b'.")
@click.option("--weights", multiple=True, help="PATH, or NAME=PATH for one part of a chain.")
@click.option("--enhancer-opt", multiple=True, help="Enhancer setting [NAME.]KEY=VALUE, repeatable.")
@click.option("--qf", default="raw", show_default=True, help="JPEG-compress the input first at this QF (or 'raw').")
@click.option("--device", default="auto", show_default=True)
def enhance_cmd(source, dest, enhancer, weights, enhancer_opt, qf, device):
    """Enhance an image file or every image in a folder; writes PNGs with the same names into DEST."""
    import cv2
    import torch

    from facebench.datasets import DatasetError, read_image
    from facebench.datasets.images import IMAGE_SUFFIXES
    from facebench.degrade import jpeg_roundtrip
    from facebench.pipeline import quantize, to_tensor
    from facebench.plugins import build_enhancer, resolve_enhancer_args
    from facebench.registry import PluginError
    from facebench.weights import MissingWeightsError

    src, out = Path(source), Path(dest)
    files = sorted(p for p in src.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if src.is_dir() else [src]
    if not files:
        raise click.ClickException(f"{src}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    (quality,) = parse_qfs([qf])
    torch_device = parse_device(device)
    try:
        weight_map, options = resolve_enhancer_args([enhancer], parse_weights(weights),
                                                    parse_enhancer_options(enhancer_opt))
        model = build_enhancer(enhancer, weight_map, device=str(torch_device), options=options)
    except (PluginError, MissingWeightsError) as exc:
        raise click.ClickException(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        for path in files:
            try:
                image = jpeg_roundtrip(read_image(path), quality)
            except DatasetError as exc:
                raise click.ClickException(str(exc)) from None
            result = quantize(model.enhance(to_tensor([image], torch_device)))[0]
            rgb = result.mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
            cv2.imwrite(str(out / (path.stem + ".png")), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    click.echo(f"wrote {len(files)} image(s) to {out}")
