"""Named plugin registries with lazy built-ins, entry points and ad hoc `module:Class` / `file.py:Class` specs.

A registry maps a name to a factory (a class or callable returning a plugin). Built-ins register a
dotted path ("facebench.enhancers.classic:Gamma") and their `PluginMeta`, so that listing plugins imports
nothing heavy. Third-party packages add names through an entry-point group (e.g. `facebench.enhancers`);
their metadata is read from the class, which imports it.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from facebench.plugin_meta import PluginMeta

Factory = Callable[..., Any]


class PluginError(ValueError):
    """A plugin name or spec that cannot be resolved (one line, says what was expected)."""


def _import_attr(spec: str) -> Factory:
    """Resolve `package.module:Attr` or `path/to/file.py:Attr` to the object it names."""
    target, _, attr = spec.rpartition(":")
    if not target or not attr:
        raise PluginError(f"plugin spec {spec!r}: expected 'package.module:Class' or 'path/file.py:Class'")
    if target.endswith(".py"):
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise PluginError(f"plugin file {path} does not exist (from spec {spec!r})")
        module_name = f"facebench_plugin_{path.stem}_{abs(hash(str(path))) % 10**8}"
        module = sys.modules.get(module_name)
        if module is None:
            file_spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(file_spec)
            sys.modules[module_name] = module
            file_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise PluginError(f"plugin spec {spec!r}: cannot import module {target!r} ({exc})") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise PluginError(f"plugin spec {spec!r}: module {target!r} has no attribute {attr!r}") from None


class Registry:
    """One kind of plugin (enhancers or detectors).

    Args:
        kind: human name used in messages ("enhancer").
        group: entry-point group searched for third-party plugins ("facebench.enhancers").
    """

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._entries: Dict[str, Union[str, Factory]] = {}
        self._meta: Dict[str, PluginMeta] = {}
        self._entry_points_loaded = False

    def register(self, name: str, factory: Union[str, Factory], meta: Optional[PluginMeta] = None) -> None:
        """Add `name`; `factory` is a class/callable or a lazy 'module:Attr' string, `meta` its metadata when
        known without importing it. Duplicates raise."""
        if name in self._entries:
            raise PluginError(f"{self.kind} {name!r} is already registered")
        if "+" in name.replace("++", "") or ":" in name:
            raise PluginError(f"{self.kind} name {name!r} may not contain ':' or a single '+' ('++' is allowed)")
        self._entries[name] = factory
        if meta is not None:
            self._meta[name] = meta

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name not in self._entries:
                self._entries[ep.name] = ep.value

    def names(self) -> List[str]:
        """Registered names, built-ins and entry points, sorted."""
        self._load_entry_points()
        return sorted(self._entries)

    def static_meta(self, name: str) -> Optional[PluginMeta]:
        """The metadata registered with `name` (None: only its class knows it)."""
        return self._meta.get(name)

    def factory(self, name: str) -> Factory:
        """The class/callable for a registered name or an ad hoc `module:Class` / `file.py:Class` spec."""
        self._load_entry_points()
        if name in self._entries:
            entry = self._entries[name]
            return _import_attr(entry) if isinstance(entry, str) else entry
        if ":" in name:
            return _import_attr(name)
        raise PluginError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())} "
                          f"(or give 'package.module:Class' / 'path/file.py:Class')")

    def create(self, name: str, **kwargs: Any) -> Any:
        """Instantiate the plugin `name` with keyword arguments."""
        return self.factory(name)(**kwargs)
