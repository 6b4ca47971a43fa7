"""How a command-line name becomes a plugin (the registries, `ENHANCERS` and `DETECTORS`, are
`facebench.plugin_registries`).

    --enhancer none | gamma | mlsm | a+b | pkg.module:Class | path/file.py:Class
    --weights PATH           (single enhancer)  or  --weights NAME=PATH  (one part of a sweep or chain)
    --enhancer-opt [NAME.]KEY=VALUE

NAME is a chain part as written in --enhancer, or the plugin's own `name` ('logcurve' for
'my_enhancer.py:LogCurve'). Settings are checked against the plugin's constructor and coerced to the
types it declares (`--enhancer-opt logcurve.k=5` gives the float 5.0).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

from facebench.enhancers.chain import Chain
from facebench.plugin_api import Detector, Enhancer
from facebench.plugin_args import accepts_argument, coerce_settings
from facebench.plugin_registries import DETECTORS, ENHANCERS
from facebench.registry import PluginError, Registry
from facebench.weights import MissingWeightsError

BASELINE = "none"
_GENERIC_WEIGHTS_HINT = "--weights PATH"  # how facebench.weights phrases the flag in its messages


def split_chain(spec: str) -> list:
    """'deblock+zerodce' -> ['deblock', 'zerodce']; '++' belongs to a name: 'zerodce+++deblock' ->
    ['zerodce++', 'deblock']."""
    parts = [p.replace("\0", "++").strip() for p in spec.replace("++", "\0").split("+")]
    if not all(parts):
        raise PluginError(f"enhancer spec {spec!r}: empty part in chain (expected 'a+b')")
    return parts


def build_enhancer(spec: str, weights: Optional[Dict[str, str]] = None, device: str = "cpu",
                   options: Optional[Dict[str, Dict[str, object]]] = None) -> Enhancer:
    """Create the enhancer (or chain) named by `spec` on `device`.

    Args:
        spec: registered name, 'a+b' chain, or an ad hoc 'module:Class' / 'file.py:Class'.
        weights: part name -> weights path ('' key = the single enhancer).
        options: part name -> constructor keyword arguments ('' key = the single enhancer), e.g.
            {'sci': {'variant': 'easy'}}.
    """
    weights, options = weights or {}, options or {}
    parts = split_chain(spec)
    built = []
    for part in parts:
        single = len(parts) == 1
        path = weights.get(part) or (weights.get("") if single else None)
        kwargs = {**(options.get("", {}) if single else {}), **options.get(part, {})}
        hint = f"--weights {_display_name(part)}=PATH"
        built.append(_create(ENHANCERS, Enhancer, part, path, kwargs, hint).to(device))
    return built[0] if len(built) == 1 else Chain(built).to(device)


def build_enhancers(specs: Sequence[str], weights: Dict[str, str], device: str,
                    options: Dict[str, Dict[str, object]]) -> Dict[str, Enhancer]:
    """Every enhancer of a sweep, built up front so that a missing weights file stops the run before any
    image is processed. `weights` / `options` are keyed by chain part (see `resolve_enhancer_args`)."""
    return {spec: build_enhancer(spec, weights, device, options) for spec in specs}


def _display_name(part: str) -> str:
    """The shortest NAME a user can write for a chain part: its registered name or the plugin's `name`."""
    if part in ENHANCERS.names():
        return part
    try:
        return getattr(ENHANCERS.factory(part), "name", "") or part
    except PluginError:
        return part


def _create(registry: Registry, base: type, name: str, weights: Optional[str], kwargs: dict, hint: str):
    """registry.create(name, weights=..., **kwargs), checked to be a `base`; bad kwargs -> PluginError.

    `hint` replaces the generic '--weights PATH' in a missing-weights message with the flag that works
    here ('--weights mlsm=PATH', '--detector-weights PATH')."""
    factory = registry.factory(name)
    label = f"{registry.kind} {name!r}"
    kwargs = coerce_settings(factory, kwargs, label)
    if weights:
        if not accepts_argument(factory, "weights"):
            raise PluginError(f"{label} takes no weights (got {hint.replace('PATH', weights)})")
        kwargs = {**kwargs, "weights": weights}
    try:
        plugin = factory(**kwargs)
    except MissingWeightsError as exc:
        raise MissingWeightsError(str(exc).replace(_GENERIC_WEIGHTS_HINT, hint)) from None
    except TypeError as exc:
        raise PluginError(f"{label}: bad setting or weights ({exc})") from None
    if not isinstance(plugin, base):
        raise PluginError(f"{label} did not produce a facebench {base.__name__} (got {type(plugin).__name__})")
    return plugin


def resolve_enhancer_args(specs: Sequence[str], weights: Dict[str, str], options: Dict[str, dict]
                          ) -> Tuple[Dict[str, str], Dict[str, dict]]:
    """--weights / --enhancer-opt keyed by chain part.

    A key may be a chain part of some spec, the `name` of such a part's plugin, or '' (no NAME=), which
    needs exactly one single-part enhancer besides the `none` baseline. Raises PluginError naming the
    accepted forms otherwise.
    """
    parts = list(dict.fromkeys(part for spec in specs for part in split_chain(spec)))
    by_name = {}
    candidates = [spec for spec in specs if spec != BASELINE] or list(specs)
    single = candidates[0] if len(candidates) == 1 and len(split_chain(candidates[0])) == 1 else None
    resolved = []
    for flag, given in (("--weights", weights), ("--enhancer-opt", options)):
        out = {}
        for key, value in given.items():
            if key == "":
                if single is None:
                    raise PluginError(f"{flag} without a NAME= prefix needs exactly one enhancer (got "
                                      f"{', '.join(specs)}); write {_accepted(flag, parts)}")
                key = single
            elif key not in parts:
                by_name = by_name or {_display_name(part): part for part in parts}
                if key not in by_name:
                    raise PluginError(f"{flag} names {key!r}, which is not one of the enhancers "
                                      f"{', '.join(specs)}; write {_accepted(flag, parts)}")
                key = by_name[key]
            out[key] = {**out.get(key, {}), **value} if isinstance(value, dict) else value
        resolved.append(out)
    return resolved[0], resolved[1]


def _accepted(flag: str, parts: Sequence[str]) -> str:
    form = "NAME=PATH" if flag == "--weights" else "NAME.KEY=VALUE"
    names = ", ".join(_display_name(part) for part in parts)
    return f"{flag} {form} with NAME one of: {names}"


def build_detector(spec: str, weights: Optional[str] = None, device: str = "cpu", **settings) -> Detector:
    """Create the detector `spec` with optional weights path and settings (score threshold, scale...)."""
    return _create(DETECTORS, Detector, spec, weights, settings, "--detector-weights PATH").to(device)
