"""The facebench commands an experiment runs, each in its own process, logged so it can be repeated by hand.

`run_facebench(["eval", ...], log)` runs `python -m facebench eval ...` with this interpreter (so the same
installation and $FACEBENCH_HOME), prints the command, appends it to the log (the run directory's
commands.txt) and stops the experiment with one line when the command fails.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Sequence

import click

from facebench.experiments.sweep_options import Sweep
from facebench.run_dirs import read_results

COMMANDS_FILE = "commands.txt"


def start_log(out: Path) -> Path:
    """Create the run directory `out` and its commands.txt, which starts with the experiment's own command line."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / COMMANDS_FILE
    log.write_text(f"# experiment\n{command_line()}\n# facebench steps\n", encoding="utf-8")
    return log


def run_facebench(args: Sequence[str], log: Path) -> None:
    """Run `facebench ARGS` in a subprocess; a non-zero exit is a one-line click error naming the command."""
    args = [str(a) for a in args]
    text = shlex.join(["facebench"] + args)
    click.echo(f"$ {text}", err=True)
    with open(log, "a", encoding="utf-8") as f:
        f.write(text + "\n")
    code = subprocess.run([sys.executable, "-m", "facebench"] + args).returncode
    if code != 0:
        raise click.ClickException(f"'{text}' failed with exit code {code} (its output is above)")


def eval_and_report(sweep: Sweep, data: object, out: Path, log: Path) -> dict:
    """`facebench eval` of dataset `data` into run directory `out`, then `facebench report` into
    out/report.html; returns the run's results.json dictionary."""
    run_facebench(sweep.eval_args(data, out), log)
    run_facebench(sweep.report_args([out], out / "report.html"), log)
    return read_results(out)


def command_line() -> str:
    """The experiment's command line as typed (`python <script> ARGS`)."""
    return "python " + shlex.join(sys.argv)
