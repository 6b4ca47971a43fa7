"""`facebench list`: every enhancer and detector, whether (and where) its weights are found, and its options.

Built-ins are described from the metadata declared where they are registered (facebench/enhancers/__init__.py,
facebench/detectors/__init__.py), so listing them imports no plugin module and no torch. A third-party plugin
(entry point) is imported to read its class's `meta`, `weights_status()` and constructor.
"""
from __future__ import annotations

import inspect
import json
from typing import Any, Dict, Tuple

import click


def _value(value: Any) -> str:
    """A default as it would be written in KEY=VALUE."""
    if value is inspect.Parameter.empty:
        return "(required)"
    return value if isinstance(value, str) else json.dumps(value)


def _info(registry, name: str) -> Tuple[str, str, Dict[str, Any]]:
    """(description, weights status, options -> defaults) of the plugin `name`."""
    meta = registry.static_meta(name)
    if meta is not None:
        return meta.description, meta.weights.status(), dict(meta.options)
    from facebench.plugin_args import constructor_settings

    factory = registry.factory(name)
    description = getattr(getattr(factory, "meta", None), "description", "")
    status = factory.weights_status() if hasattr(factory, "weights_status") else "?"
    return description, status, constructor_settings(factory)


def _describe(registry, name: str, width: int) -> str:
    from facebench.registry import PluginError

    try:
        description, status, options = _info(registry, name)
    except (PluginError, ImportError) as exc:
        return f"  {name:<{width}} (cannot load: {exc})"
    lines = [f"  {name:<{width}} {description}", f"  {'':<{width}} weights: {status}"]
    if options:
        lines.append(f"  {'':<{width}} options: " + " ".join(f"{k}={_value(v)}" for k, v in options.items()))
    return "\n".join(lines)


@click.command("list")
def list_cmd():
    """List enhancers and detectors with their weight status."""
    from facebench.plugin_registries import DETECTORS, ENHANCERS

    registries = (("enhancers", ENHANCERS), ("detectors", DETECTORS))
    width = max(len(name) for _, registry in registries for name in registry.names())
    for title, registry in registries:
        click.echo(f"{title}:")
        for name in registry.names():
            click.echo(_describe(registry, name, width))
    click.echo("chains: join enhancers with '+', e.g. deblock+zerodce; ad hoc: --enhancer path/file.py:Class; "
               "options: --enhancer-opt NAME.KEY=VALUE, --detector-opt KEY=VALUE")
