"""`facebench train-enhancer NAME ...`: each trainable enhancer brings its own click command."""
import click

from facebench.cli import LazyGroup

TRAINERS = {
    "mlsm": "facebench.mlsm.train_cli:train_mlsm",
    "zerodce": "facebench.enhancers.zerodce_train:train_zerodce",
    "deblock": "facebench.enhancers.deblock_train:train_deblock",
    "lightendiffusion": "facebench.enhancers.lightendiffusion.train_cli:train_lightendiffusion",
    "nerco": "facebench.enhancers.nerco.train_cli:train_nerco",
    "mrvae": "facebench.enhancers.mrvae.train_cli:train_mrvae",
}


@click.group("train-enhancer", cls=LazyGroup, lazy_commands=TRAINERS)
def train_enhancer():
    """Train an enhancer (mlsm, zerodce, deblock) on your own data."""
