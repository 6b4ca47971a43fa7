"""The click options every experiment shares, parsed into a frozen `Sweep`, and the default enhancer set.

Default enhancers: `MAIN` (the paper's comparison: baseline, a classic curve, two zero-reference CNNs with
the authors' weights, a deblocker chain, MLSM) plus `OPTIONAL` ones whose weights are found. An enhancer
is in the default set when facebench can build it (its weights are shipped or in $FACEBENCH_HOME); the
others are left out with a printed reason. Enhancers given with --enhancer are used as given (a missing
weights file then stops `facebench eval` with its own message).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import click

MAIN = ("none", "gamma", "zerodce", "sci", "deblock+sci", "mlsm")
OPTIONAL = ("zerodce++", "ruas")  # authors' weights, cheap enough for every sweep; used when found


def available_enhancers(specs: Sequence[str]) -> Tuple[List[str], List[Tuple[str, str]]]:
    """(specs facebench can build on the CPU, (spec, reason) for the others), in the given order."""
    from facebench.plugins import build_enhancer
    from facebench.registry import PluginError
    from facebench.weights import MissingWeightsError

    found, missing = [], []
    for spec in specs:
        try:
            build_enhancer(spec)
            found.append(spec)
        except (MissingWeightsError, PluginError) as exc:
            missing.append((spec, str(exc).splitlines()[0]))
    return found, missing


@dataclass(frozen=True)
class Sweep:
    """What an experiment passes to `facebench eval` besides the dataset and the run directory.

    Attributes:
        enhancers: enhancer specs, `none` first.
        skipped: default enhancers left out, each "spec: reason".
        qfs: QF labels ('raw', '90', ...), as `facebench eval --qf` takes them.
        detector: detector name or 'module:Class'.
        detector_weights: detector weights file, or None.
        bootstrap: bootstrap resamples for the confidence intervals (0: none).
        seed: bootstrap seed.
        device: 'auto', 'cpu', 'cuda', 'cuda:N'.
        strips: whether the HTML report draws image strips (re-running the enhancers on a few images).
    """

    enhancers: Tuple[str, ...]
    skipped: Tuple[str, ...]
    qfs: Tuple[str, ...]
    detector: str
    detector_weights: Optional[str]
    bootstrap: int
    seed: int
    device: str
    strips: bool

    def eval_args(self, data: object, out: object) -> List[str]:
        """The `facebench eval` arguments for dataset `data` and run directory `out`."""
        args = ["eval", "--data", str(data), "--out", str(out), "--detector", self.detector,
                "--bootstrap", str(self.bootstrap), "--seed", str(self.seed), "--device", self.device]
        if self.detector_weights:
            args += ["--detector-weights", self.detector_weights]
        for spec in self.enhancers:
            args += ["--enhancer", spec]
        for qf in self.qfs:
            args += ["--qf", qf]
        return args

    def report_args(self, run_dirs: Sequence[object], html: object) -> List[str]:
        """The `facebench report` arguments for these run directories, written to `html`."""
        return ["report", *map(str, run_dirs), "--out", str(html)] + ([] if self.strips else ["--no-strips"])


def sweep_options(default_qfs: Sequence[str]):
    """Decorator adding --enhancer, --qf (default `default_qfs`), --detector, --detector-weights, --bootstrap,
    --seed, --device and --no-strips; the command receives them as one `sweep` argument (a `Sweep`)."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(enhancers, qfs, detector, detector_weights, bootstrap, seed, device, no_strips, **kwargs):
            return fn(sweep=make_sweep(enhancers, qfs, detector, detector_weights, bootstrap, seed, device,
                                       not no_strips), **kwargs)

        options = [
            click.option("--enhancer", "enhancers", multiple=True,
                         help=f"Enhancer spec, repeatable [default: {' '.join(MAIN)}, plus {' '.join(OPTIONAL)} "
                              "when their weights are found; default ones without weights are left out]."),
            click.option("--qf", "qfs", multiple=True, default=tuple(default_qfs), show_default=True,
                         help="JPEG quality factor or 'raw', repeatable."),
            click.option("--detector", default="retinaface", show_default=True,
                         help="Detector name or 'module:Class'."),
            click.option("--detector-weights", type=click.Path(exists=True, dir_okay=False),
                         help="Detector weights file."),
            click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(min=0),
                         help="Bootstrap resamples for the 95% CIs (0: none)."),
            click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap."),
            click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N"),
            click.option("--no-strips", is_flag=True, help="HTML report without image strips (faster)."),
        ]
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper
    return decorate


def make_sweep(enhancers: Sequence[str], qfs: Sequence[str], detector: str, detector_weights: Optional[str],
               bootstrap: int, seed: int, device: str, strips: bool) -> Sweep:
    """A `Sweep` from the option values; no --enhancer: the default set (printing what is left out and why)."""
    skipped: List[str] = []
    if enhancers:
        specs = list(dict.fromkeys(("none",) + tuple(enhancers)))
    else:
        specs, missing = available_enhancers(MAIN + OPTIONAL)
        skipped = [f"{spec}: {reason}" for spec, reason in missing if spec in MAIN]  # OPTIONAL ones may be absent
        for line in skipped:
            click.echo(f"left out (weights not found): {line}", err=True)
    return Sweep(tuple(specs), tuple(skipped), tuple(qfs), detector, detector_weights, bootstrap, seed, device, strips)
