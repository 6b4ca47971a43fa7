"""`facebench convert-weights NAME CKPT OUT`: each enhancer whose authors' checkpoints are in a foreign
format (not a PyTorch state dict) brings its own click converter."""
import click

from facebench.cli import LazyGroup

CONVERTERS = {
    "mrvae": "facebench.enhancers.mrvae.convert_cli:convert_mrvae",
}


@click.group("convert-weights", cls=LazyGroup, lazy_commands=CONVERTERS)
def convert_weights():
    """Convert an authors' checkpoint into a facebench weights file (mrvae: TensorFlow, no TF needed)."""
