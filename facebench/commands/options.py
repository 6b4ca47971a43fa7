"""Click options shared by several commands, and the parsing of their values (heavy imports inside the
parsers, so that `--help` stays fast)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional

import click

if TYPE_CHECKING:
    import torch

    from facebench.degrade import QualityFactor


def parse_qfs(values: Iterable[str]) -> List[QualityFactor]:
    """('90', 'raw') -> [90, None]; a bad value is a click usage error."""
    from facebench.degrade import parse_qf

    try:
        return [parse_qf(v) for v in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--qf") from None


def parse_weights(values: Iterable[str]) -> Dict[str, str]:
    """('PATH',) -> {'': PATH}; ('mlsm=PATH', 'deblock=P2') -> {'mlsm': PATH, 'deblock': P2}."""
    weights: Dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        key, target = (name, path) if sep and "/" not in name else ("", value)
        if key in weights:
            raise click.BadParameter(f"weights for {key or 'the enhancer'!r} given twice", param_hint="--weights")
        weights[key] = target
    return weights


def parse_settings(values: Iterable[str], hint: str) -> Dict[str, object]:
    """('scale=2', 'flip=True', 'mode=wider') -> {'scale': 2, 'flip': True, 'mode': 'wider'}.

    Values are JSON (true/false in any case are booleans); anything else stays a string."""
    settings: Dict[str, object] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE", param_hint=hint)
        if raw.lower() in ("true", "false"):
            settings[key] = raw.lower() == "true"
            continue
        try:
            settings[key] = json.loads(raw)
        except json.JSONDecodeError:
            settings[key] = raw
    return settings


def parse_enhancer_options(values: Iterable[str]) -> Dict[str, Dict[str, object]]:
    """('sci.variant=easy', 'gamma=0.5') -> {'sci': {'variant': 'easy'}, '': {'gamma': 0.5}}; a KEY=VALUE without a name
    -> key '' (the single enhancer). The name is everything before the last '.' of the left side."""
    options: Dict[str, Dict[str, object]] = {}
    for value in values:
        left, sep, _ = value.partition("=")
        name, dot, key = left.rpartition(".")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: expected [ENHANCER.]KEY=VALUE", param_hint="--enhancer-opt")
        options.setdefault(name if dot else "", {}).update(parse_settings([value[len(left) - len(key):]],
                                                                          "--enhancer-opt"))
    return options


def parse_ids(values: Iterable[str]) -> Optional[List[str]]:
    """('1,2', '7') -> ['1', '2', '7']; nothing given -> None (all images)."""
    ids = [i.strip() for v in values for i in v.split(",") if i.strip()]
    return ids or None


def data_options(fn):
    """--data / --limit / --ids."""
    fn = click.option("--ids", multiple=True, help="Only these image ids (comma-separated, repeatable).")(fn)
    fn = click.option("--limit", type=click.IntRange(min=1), help="Only the first N images (natural id order).")(fn)
    fn = click.option("--data", type=click.Path(exists=True), default=None,
                      help="Dataset: DARK FACE folder, REGDet file, WIDER *_bbx_gt.txt, COCO json. "
                           "Default: the embedded SYNTHETIC set.")(fn)
    return fn


def parse_device(spec: str) -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> torch.device; a device this machine lacks is a one-line usage error."""
    import torch

    from facebench.training import resolve_device

    try:
        device = resolve_device(spec)
    except (ValueError, RuntimeError) as exc:
        text = str(exc).splitlines()[0]
        raise click.ClickException(text if text.startswith("--device") else f"--device {spec}: {text}") from None
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise click.ClickException(f"--device {spec}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device
