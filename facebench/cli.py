"""The `facebench` command. Each subcommand lives in its own module and is imported only when run."""
from __future__ import annotations

import importlib

import click

from facebench import __version__

COMMANDS = {
    "eval": "facebench.commands.eval_cmd:eval_cmd",
    "score": "facebench.commands.score_cmd:score_cmd",
    "plot": "facebench.commands.plot_cmd:plot_cmd",
    "list": "facebench.commands.list_cmd:list_cmd",
    "enhance": "facebench.commands.enhance_cmd:enhance_cmd",
    "demo-data": "facebench.commands.demo_data_cmd:demo_data_cmd",
    "quality": "facebench.commands.quality_cmd:quality_cmd",
    "train-enhancer": "facebench.commands.train_enhancer_cmd:train_enhancer",
    "convert-weights": "facebench.commands.convert_weights_cmd:convert_weights",
    "train-detector": "facebench.commands.train_detector_cmd:train_detector",
}


def load_command(path: str) -> click.Command:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


class LazyGroup(click.Group):
    """A click group whose subcommands are 'module:attr' strings, imported on first use."""

    def __init__(self, *args, lazy_commands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx, name):
        if name in self.lazy_commands:
            return load_command(self.lazy_commands[name])
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facebench")
def main():
    """Does an image enhancer help a face detector in dark, JPEG-compressed images?"""
