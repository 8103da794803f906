"""Reading fields from the SDK's pydantic models and from plain JSON alike."""

from __future__ import annotations

from typing import Any


def get(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` for models, ``obj[name]`` for dicts, ``default`` when missing or None."""
    if obj is None:
        return default
    value = obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)
    return default if value is None else value


def plain(obj: Any) -> Any:
    """A model as JSON-like values (dicts and lists pass through)."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj
