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
        if path:
            kwargs["weights"] = path
        try:
            enhancer = ENHANCERS.create(part, **kwargs)
        except TypeError as exc:
            raise PluginError(f"enhancer {part!r}: bad option or weights ({exc})") from None
        if not isinstance(enhancer, Enhancer):
            raise PluginError(f"enhancer {part!r} did not produce a facebench Enhancer (got {type(enhancer).__name__})")
        built.append(enhancer.to(device))
    return built[0] if len(built) == 1 else Chain(built).to(device)


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
    kwargs = dict(settings)
    if weights:
        kwargs["weights"] = weights
    try:
        detector = DETECTORS.create(spec, **kwargs)
    except TypeError as exc:
        raise PluginError(f"detector {spec!r}: bad setting or weights ({exc})") from None
    if not isinstance(detector, Detector):
        raise PluginError(f"detector {spec!r} did not produce a facebench Detector (got {type(detector).__name__})")
    return detector.to(device)
