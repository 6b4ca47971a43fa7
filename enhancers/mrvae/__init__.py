"""MR-VAE enhancer package: model, TF-checkpoint conversion, losses, training, enhancer plugin.

Public names: `MRVAE` (the `mrvae` enhancer), `conformance_model` (the spec's check factory).
Imported lazily so that `facebench list` and the conformance check load only what they need.
"""
from __future__ import annotations

_EXPORTS = {
    "MRVAE": "facebench.enhancers.mrvae.enhancer",
    "conformance_model": "facebench.enhancers.mrvae.conformance",
}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
