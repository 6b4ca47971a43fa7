"""The two registries, `ENHANCERS` and `DETECTORS`, filled with the built-ins' lazy paths and metadata.

Importing this module imports no plugin module and no torch (`facebench list` relies on it); building a
plugin from a name is `facebench.plugins`.
"""
from __future__ import annotations

from facebench.detectors import BUILTIN_DETECTORS
from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.registry import Registry

ENHANCERS = Registry("enhancer", "facebench.enhancers")
DETECTORS = Registry("detector", "facebench.detectors")
for _registry, _builtins in ((ENHANCERS, BUILTIN_ENHANCERS), (DETECTORS, BUILTIN_DETECTORS)):
    for _name, _builtin in _builtins.items():
        _registry.register(_name, _builtin.target, _builtin.meta)
