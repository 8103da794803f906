"""Reading the SDK's pydantic models and the caller's dicts alike, into JSON-like values.

The SDK takes every argument either as its pydantic type (``types.GenerateContentConfig``,
``types.Content``...) or as a dict with the same fields in ``snake_case`` or ``camelCase``;
these helpers read both, so that nothing here needs ``google.genai`` imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from tracklm.integration import values
from tracklm.integration.values import is_mapping, is_model

__all__ = ["camel", "fields", "fields_set", "get", "is_model", "plain", "snake", "snapshot"]

_CAMEL: Final = re.compile(r"_([a-z])")
_SNAKE: Final = re.compile(r"(?<!^)(?=[A-Z])")


def camel(name: str) -> str:
    """``max_output_tokens`` -> ``maxOutputTokens``."""
    found = _camel_names.get(name)
    if found is None:
        found = _camel_names[name] = _CAMEL.sub(lambda m: m.group(1).upper(), name)
    return found


_camel_names: dict[str, str] = {}  # the names read are few: each is converted once


def snake(name: str) -> str:
    """``maxOutputTokens`` -> ``max_output_tokens`` (snake names are left as they are)."""
    return _SNAKE.sub("_", name).lower()


def get(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` of a model, ``obj[name]`` (or its camelCase key) of a dict; ``default``
    when missing or None."""
    value = values.get(obj, name)
    if value is None and obj is not None and is_mapping(type(obj)):
        value = values.get(obj, camel(name))
    return default if value is None else value


def fields(obj: Any) -> values.Fields:
    """``obj``'s fields to read many of (see :func:`tracklm.integration.values.fields`); a
    mapping's read by :func:`get`, which knows its camelCase keys too."""
    if obj is not None and is_mapping(type(obj)):
        return values.ByGet(obj, get)
    return values.fields(obj)


def fields_set(obj: Any) -> dict[str, Any]:
    """The fields the caller set on a model or dict, by snake_case name, None values left out.

    Of a model, only the fields given explicitly (``model_fields_set``): the SDK's defaults
    are not what the caller asked for."""
    if isinstance(obj, Mapping):
        return {snake(str(k)): v for k, v in obj.items() if v is not None}
    return values.fields_set(obj)


def snapshot(obj: Any) -> Any:
    """A shallow copy of a list, dict or model the caller may change after the call (a chat
    history list, a config reused with another temperature); other values as they are.

    Runs on the caller's thread: a list or dict copy, or pydantic's shallow ``__copy__``."""
    if isinstance(obj, list):
        return list(obj)
    if isinstance(obj, dict):
        return dict(obj)
    if is_model(obj):
        return obj.__copy__()
    return obj


def plain(value: Any) -> Any:
    """JSON-like values of what the caller set: models as their fields set, None left out,
    enums as their value, bytes as their size, classes and functions by name."""
    return values.plain(value, set_only=True, opaque=True)
