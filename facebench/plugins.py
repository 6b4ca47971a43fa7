"""The enhancer and detector registries and how a command-line name becomes a plugin.

    --enhancer none | gamma | mlsm | a+b | pkg.module:Class | path/file.py:Class
    --weights PATH           (single enhancer)  or  --weights NAME=PATH  (one part of a chain)
"""
from __future__ import annotations

from typing import Dict, Optional

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
    """'deblock+zerodce' -> ['deblock', 'zerodce']; file specs may contain '+' only in the chain sense."""
    parts = [p.strip() for p in spec.split("+")]
    if not all(parts):
        raise PluginError(f"enhancer spec {spec!r}: empty part in chain (expected 'a+b')")
    return parts


def build_enhancer(spec: str, weights: Optional[Dict[str, str]] = None, device: str = "cpu") -> Enhancer:
    """Create the enhancer (or chain) named by `spec` on `device`.

    Args:
        spec: registered name, 'a+b' chain, or an ad hoc 'module:Class' / 'file.py:Class'.
        weights: part name -> weights path ('' key = the single enhancer).
    """
    weights = dict(weights or {})
    parts = split_chain(spec)
    built = []
    for part in parts:
        path = weights.pop(part, None) or (weights.pop("", None) if len(parts) == 1 else None)
        kwargs = {"weights": path} if path else {}
        enhancer = ENHANCERS.create(part, **kwargs)
        if not isinstance(enhancer, Enhancer):
            raise PluginError(f"enhancer {part!r} did not produce a facebench Enhancer (got {type(enhancer).__name__})")
        built.append(enhancer.to(device))
    if weights:
        raise PluginError(f"--weights given for {sorted(weights)} which are not parts of {spec!r}")
    return built[0] if len(built) == 1 else Chain(built).to(device)


def build_detector(spec: str, weights: Optional[str] = None, device: str = "cpu", **settings) -> Detector:
    """Create the detector `spec` with optional weights path and settings (score threshold, scale...)."""
    kwargs = dict(settings)
    if weights:
        kwargs["weights"] = weights
    detector = DETECTORS.create(spec, **kwargs)
    if not isinstance(detector, Detector):
        raise PluginError(f"detector {spec!r} did not produce a facebench Detector (got {type(detector).__name__})")
    return detector.to(device)
