"""Reading the SDK's pydantic models and the caller's dicts alike, into JSON-like values.

The SDK takes every argument either as its pydantic type (``types.GenerateContentConfig``,
``types.Content``...) or as a dict with the same fields in ``snake_case`` or ``camelCase``;
these helpers read both, so that nothing here needs ``google.genai`` imported.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any, Final

_CAMEL: Final = re.compile(r"_([a-z])")
_SNAKE: Final = re.compile(r"(?<!^)(?=[A-Z])")


def camel(name: str) -> str:
    """``max_output_tokens`` -> ``maxOutputTokens``."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def snake(name: str) -> str:
    """``maxOutputTokens`` -> ``max_output_tokens`` (snake names are left as they are)."""
    return _SNAKE.sub("_", name).lower()


def get(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` of a model, ``obj[name]`` (or its camelCase key) of a dict; ``default``
    when missing or None."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        value = obj.get(name)
        if value is None:
            value = obj.get(camel(name))
    else:
        value = getattr(obj, name, None)
    return default if value is None else value


def is_model(obj: Any) -> bool:
    """True for an instance of a pydantic model (the SDK's types)."""
    return not isinstance(obj, type) and hasattr(type(obj), "model_fields")


def fields_set(obj: Any) -> dict[str, Any]:
    """The fields the caller set on a model or dict, by snake_case name, None values left out.

    Of a model, only the fields given explicitly (``model_fields_set``): the SDK's defaults
    are not what the caller asked for."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return {snake(str(k)): v for k, v in obj.items() if v is not None}
    names = getattr(obj, "model_fields_set", None)
    if names is None:
        return {}
    found = {name: getattr(obj, name, None) for name in names}
    return {name: value for name, value in found.items() if value is not None}


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
    """JSON-like values: models dumped (None fields left out), enums as their value, bytes
    as their size, classes and functions by name."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, type):
        return value.__name__
    if is_model(value):
        return {k: plain(v) for k, v in fields_set(value).items()}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return f"<{type(value).__name__}>"
