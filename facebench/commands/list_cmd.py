"""`facebench list`: every enhancer and detector, and whether (and where) its weights are found.

The registries are imported when the command runs, and each plugin's module only when its line is
printed, so `facebench --help` and `facebench list --help` import no plugin code.
"""
from __future__ import annotations

import click


def _describe(registry, name: str) -> str:
    from facebench.registry import PluginError

    try:
        factory = registry.factory(name)
    except (PluginError, ImportError) as exc:
        return f"  {name:<12} (cannot load: {exc})"
    meta = getattr(factory, "meta", None)
    description = getattr(meta, "description", "") if meta else ""
    status = factory.weights_status() if hasattr(factory, "weights_status") else "?"
    return f"  {name:<12} {description}\n  {'':<12} weights: {status}"


@click.command("list")
def list_cmd():
    """List enhancers and detectors with their weight status."""
    from facebench.plugins import DETECTORS, ENHANCERS

    for title, registry in (("enhancers", ENHANCERS), ("detectors", DETECTORS)):
        click.echo(f"{title}:")
        for name in registry.names():
            click.echo(_describe(registry, name))
    click.echo("chains: join enhancers with '+', e.g. deblock+zerodce; ad hoc: --enhancer path/file.py:Class")
