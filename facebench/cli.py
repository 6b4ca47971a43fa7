"""The `facebench` command. Each subcommand lives in its own module and is imported only when run.

`facebench --help` prints the one-line summaries kept in `COMMANDS`, so it imports no subcommand
module (and no torch); tests check each summary against the first line of its command's docstring.
"""
from __future__ import annotations

import importlib
from typing import Dict, Tuple, Union

import click

from facebench import __version__
from facebench.cpu_allocator import raise_malloc_thresholds

LazyEntry = Union[str, Tuple[str, str]]  # "module:attr", or ("module:attr", one-line summary)

COMMANDS: Dict[str, LazyEntry] = {
    "eval": ("facebench.commands.eval_cmd:eval_cmd",
             "Evaluate enhancers x JPEG quality factors with a face detector (mAP at IoU 0.3 / 0.5 / 0.7)."),
    "score": ("facebench.commands.score_cmd:score_cmd",
              "AP at IoU 0.3 / 0.5 / 0.7 (official DARK FACE protocol and COCO-style) of prediction files."),
    "plot": ("facebench.commands.plot_cmd:plot_cmd",
             "Draw precision-recall curves from one or more run directories (PNG + PDF)."),
    "report": ("facebench.commands.report_cmd:report_cmd", "One self-contained HTML report: tables, curves, image strips."),
    "list": ("facebench.commands.list_cmd:list_cmd", "List enhancers and detectors with their weight status."),
    "enhance": ("facebench.commands.enhance_cmd:enhance_cmd",
                "Enhance an image file or every image in a folder; writes PNGs with the same names into DEST."),
    "demo-data": ("facebench.commands.demo_data_cmd:demo_data_cmd",
                  "Write a SYNTHETIC dark face set to OUT: image/<id>.png, label/<id>.txt, README.txt."),
    "quality": ("facebench.commands.quality_cmd:quality_cmd",
                "PSNR / SSIM / PSNR-B of enhancers on paired images after JPEG compression at each QF."),
    "train-enhancer": ("facebench.commands.train_enhancer_cmd:train_enhancer",
                       "Train an enhancer (mlsm, zerodce, deblock) on your own data."),
    "convert-weights": ("facebench.commands.convert_weights_cmd:convert_weights", "Convert an authors' checkpoint into a facebench weights file (mrvae: TensorFlow, no TF needed)."),
    "train-detector": ("facebench.commands.train_detector_cmd:train_detector",
                       "Train a detector (pyramidbox) on WIDER FACE or DARK FACE."),
}


def load_command(path: str) -> click.Command:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


class LazyGroup(click.Group):
    """A click group whose subcommands are 'module:attr' strings (or (path, summary) pairs), imported on
    first use; a summary lets the group's --help list the command without importing it."""

    def __init__(self, *args, lazy_commands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands: Dict[str, LazyEntry] = dict(lazy_commands or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx, name):
        if name in self.lazy_commands:
            entry = self.lazy_commands[name]
            return load_command(entry if isinstance(entry, str) else entry[0])
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            entry = self.lazy_commands.get(name)
            if isinstance(entry, tuple):
                rows.append((name, click.Command(name, help=entry[1]).get_short_help_str(limit)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facebench")
def main():
    """Does an image enhancer help a face detector in dark, JPEG-compressed images?"""
    raise_malloc_thresholds()
