"""`facebench train-detector NAME ...`: each trainable detector brings its own click command."""
import click

from facebench.cli import LazyGroup

TRAINERS = {
    "pyramidbox": "facebench.detectors.pyramidbox.train_cli:train_pyramidbox",
}


@click.group("train-detector", cls=LazyGroup, lazy_commands=TRAINERS)
def train_detector():
    """Train a detector (pyramidbox) on WIDER FACE or DARK FACE."""
