"""Checks command-line settings against a plugin's constructor and coerces them to its declared types.

`--enhancer-opt logcurve.k=5` arrives as the int 5 (values are parsed as JSON); a constructor that
declares `k: float` gets 5.0, so the setting, the identity and the cache key are the same as for `k=5.0`.
A setting the constructor does not take is one line listing the ones it does.
"""
from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Callable, Dict, Optional

from facebench.registry import PluginError

_UNION_TYPES = (typing.Union, getattr(types, "UnionType", typing.Union))


def _signature(factory: Callable) -> Optional[inspect.Signature]:
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):
        return None


def accepts_argument(factory: Callable, name: str) -> bool:
    """True when `factory(name=...)` is allowed (a parameter of that name, or **kwargs, or unknown)."""
    signature = _signature(factory)
    if signature is None:
        return True
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in signature.parameters.values())


def constructor_settings(factory: Callable) -> Dict[str, Any]:
    """The settings `factory` takes by name (all but `weights` and **kwargs) -> their defaults
    (`inspect.Parameter.empty` for a required one); {} when its signature is unknown."""
    signature = _signature(factory)
    params = {} if signature is None else signature.parameters
    return {name: p.default for name, p in params.items()
            if name != "weights" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _type_hints(factory: Callable) -> Dict[str, Any]:
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return typing.get_type_hints(target)
    except Exception:  # an annotation this Python cannot evaluate: no coercion, values stay as parsed
        return {}


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def coerce_value(value: Any, annotation: Any, what: str) -> Any:
    """`value` as the declared `annotation` (bool, int, float, str, Optional[...], tuple/list of those);
    other annotations leave it unchanged. Raises PluginError "WHAT: expected TYPE" when it does not fit."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in _UNION_TYPES:
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        return coerce_value(value, options[0], what) if len(options) == 1 else value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise PluginError(f"{what}: expected a list such as [1, 2] ({_type_name(annotation)})")
        element = args[0] if args else Any
        return origin(coerce_value(v, element, what) for v in value)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is bool and isinstance(value, bool):
        return value
    if annotation is float and number:
        return float(value)
    if annotation is int and number and float(value).is_integer():
        return int(value)
    if annotation is str and (isinstance(value, str) or number):
        return str(value)
    if annotation in (bool, int, float, str):
        raise PluginError(f"{what}: expected {annotation.__name__}")
    return value


def coerce_settings(factory: Callable, settings: Dict[str, Any], label: str) -> Dict[str, Any]:
    """`settings` checked against `factory`'s parameters and coerced to their declared types.

    Args:
        factory: the plugin class (or callable) that will receive the settings as keyword arguments.
        settings: setting name -> value as parsed from the command line.
        label: names the plugin in messages ("enhancer 'gamma'").

    Raises:
        PluginError: a setting the factory does not take, or a value that does not fit its type.
    """
    signature = _signature(factory)
    hints = _type_hints(factory)
    params = {} if signature is None else signature.parameters
    open_ended = signature is None or any(p.kind is p.VAR_KEYWORD for p in params.values())
    known = list(constructor_settings(factory))
    coerced = {}
    for key, value in settings.items():
        if key == "weights" or (key not in known and not open_ended):
            listed = ", ".join(f"{n} ({_type_name(hints[n])})" if n in hints else n for n in known) or "none"
            raise PluginError(f"{label} has no setting {key!r} (its settings: {listed}"
                              f"{'; weights have their own option' if key == 'weights' else ''})")
        coerced[key] = coerce_value(value, hints.get(key, Any), f"{label} setting {key}={value!r}")
    return coerced
