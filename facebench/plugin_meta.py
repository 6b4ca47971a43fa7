"""What `facebench list` shows of a plugin, as data that needs neither the plugin's module nor torch.

A built-in plugin is registered as a `Builtin`: its lazy 'module:Class' path and its `PluginMeta`, declared
once in facebench/enhancers/__init__.py or facebench/detectors/__init__.py; the class takes the same object
as its `meta` (tests check that every built-in does and that `options` equals its constructor).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from facebench.weights_sources import NoWeights, WeightsSource


@dataclass(frozen=True)
class PluginMeta:
    """What a user needs to know about a plugin before running it (timm's PretrainedCfg, smaller).

    Attributes:
        description: one line shown by `facebench list`.
        paper: citation or URL of the method.
        weights_hint: free text on the weights (plugins written before `weights` existed; not shown).
        weights: where the default weights are (`facebench.weights_sources`); its status is listed.
        options: the settings a user may pass (--enhancer-opt / --detector-opt) -> their defaults.
    """

    description: str = ""
    paper: str = ""
    weights_hint: str = ""
    weights: WeightsSource = NoWeights()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Builtin:
    """A built-in plugin: `target` = 'module:Class' imported on first use, `meta` = its metadata."""

    target: str
    meta: PluginMeta
