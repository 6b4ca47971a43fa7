"""The enhancer and detector registries and how a command-line name becomes a plugin.

    --enhancer none | gamma | mlsm | a+b | pkg.module:Class | path/file.py:Class
    --weights PATH           (single enhancer)  or  --weights NAME=PATH  (one part of a chain)
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

from facebench.detectors import BUILTIN_DETECTORS
from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.chain import Chain
from facebench.plugin_api import Detector, Enhancer
from facebench.registry import PluginError, Registry

ENHANCERS = Registry("enhancer", "facebench.enhancers")
DETECTORS = Registry("detector", "facebench.detectors")
for _name, _path in BUILTIN_ENHANCERS.items():
    ENHANCERS.register(_name, _path)
for _name, _path in BUILTIN_DETECTORS.items():
    DETECTORS.register(_name, _path)


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
        built.append(_create(ENHANCERS, Enhancer, part, path, kwargs).to(device))
    return built[0] if len(built) == 1 else Chain(built).to(device)


def _create(registry: Registry, base: type, name: str, weights: Optional[str], kwargs: dict):
    """registry.create(name, weights=..., **kwargs), checked to be a `base`; bad kwargs -> PluginError."""
    if weights:
        kwargs = {**kwargs, "weights": weights}
    try:
        plugin = registry.create(name, **kwargs)
    except TypeError as exc:
        raise PluginError(f"{registry.kind} {name!r}: bad setting or weights ({exc})") from None
    if not isinstance(plugin, base):
        raise PluginError(f"{registry.kind} {name!r} did not produce a facebench {base.__name__} "
                          f"(got {type(plugin).__name__})")
    return plugin


def check_enhancer_args(specs: Sequence[str], weights: Dict[str, str], options: Dict[str, dict]) -> None:
    """Every --weights / --enhancer-opt name must be a part of some enhancer spec; an unnamed one needs
    exactly one single-part enhancer. Raises PluginError otherwise."""
    parts = {part for spec in specs for part in split_chain(spec)}
    single = len(specs) == 1 and len(split_chain(specs[0])) == 1
    for flag, given in (("--weights", weights), ("--enhancer-opt", options)):
        for name in given:
            if name == "" and not single:
                raise PluginError(f"{flag} without a NAME= prefix needs exactly one enhancer (got {', '.join(specs)})")
            if name and name not in parts:
                raise PluginError(f"{flag} names {name!r}, which is not one of the enhancers {', '.join(specs)}")


def build_detector(spec: str, weights: Optional[str] = None, device: str = "cpu", **settings) -> Detector:
    """Create the detector `spec` with optional weights path and settings (score threshold, scale...)."""
    return _create(DETECTORS, Detector, spec, weights, settings).to(device)
