"""`facebench demo-data OUT`: write the synthetic dark face set (SYNTHETIC) in the DARK FACE layout."""
from pathlib import Path

import click


@click.command("demo-data")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", default=24, show_default=True, type=click.IntRange(min=1), help="Number of images.")
@click.option("--seed", default=0, show_default=True, type=int, help="Base seed (image i uses [seed, i]).")
@click.option("--width", default=640, show_default=True, type=click.IntRange(min=80), help="Image width, px.")
@click.option("--height", default=480, show_default=True, type=click.IntRange(min=80), help="Image height, px.")
def demo_data_cmd(out: Path, count: int, seed: int, width: int, height: int) -> None:
    """Write a SYNTHETIC dark face set to OUT: image/<id>.png, label/<id>.txt, README.txt.

    LFW face crops bundled with scikit-image pasted into bundled scenes with exact boxes, then
    darkened with facebench's low-light camera model. Offline and deterministic for a given seed.
    """
    from facebench.datasets import SyntheticConfig, write_synthetic

    try:
        write_synthetic(out, SyntheticConfig(count=count, seed=seed, width=width, height=height))
    except (FileExistsError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"wrote {count} SYNTHETIC images (seed {seed}, {width}x{height}) to {out}; see {out / 'README.txt'}")
