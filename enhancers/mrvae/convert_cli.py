"""`facebench convert-weights mrvae CKPT OUT`: an authors' TensorFlow checkpoint -> a facebench weights file."""
from __future__ import annotations

import click

from facebench.checkpoint import CheckpointError
from facebench.enhancers.mrvae.weights import convert_tf_checkpoint


@click.command("mrvae")
@click.argument("ckpt", type=click.Path())
@click.argument("out", type=click.Path(dir_okay=False))
def convert_mrvae(ckpt: str, out: str) -> None:
    """Convert a TensorFlow checkpoint of the authors' MR-VAE code (tf.train.Saver, TF 1.x or 2.x).

    CKPT is the checkpoint prefix (e.g. summary/1200.ckpt, beside 1200.ckpt.index and
    1200.ckpt.data-00000-of-00001), its .index file, or the folder whose `checkpoint` file names the
    latest one. TensorFlow is not needed. The 121 model variables are read (Adam slots and step
    counters are left out), kernels transposed to PyTorch layout, and OUT written; use it with
    `--enhancer mrvae --weights OUT`, or save it as $FACEBENCH_HOME/mrvae/authors.pt for
    `--enhancer-opt variant=authors`.
    """
    try:
        path, net, metadata = convert_tf_checkpoint(ckpt, out)
    except CheckpointError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path}: MR-VAE width {net.config.width}, {metadata['tf_variables']} variables, "
               f"TF global_step {metadata['tf_global_step']}")
