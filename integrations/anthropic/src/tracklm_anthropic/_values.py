"""Reading fields from the SDK's pydantic models and from plain JSON alike."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

# the SDK's "argument not given" sentinels (``NOT_GIVEN``, ``omit``), known by class name so
# that reading a value never needs ``anthropic`` imported
_SENTINELS: Final = frozenset({"NotGiven", "Omit"})


@dataclass(frozen=True)
class RawBody:
    """A response body the caller read as bytes or text (``with_raw_response``,
    ``with_streaming_response``); parsed as JSON on tracklm's thread."""

    content: bytes | str

    def json(self) -> Any:
        """The body as JSON values, None when it is not JSON."""
        try:
            return json.loads(self.content)
        except ValueError:
            return None


def is_sentinel(value: Any) -> bool:
    """True for the SDK's ``NOT_GIVEN`` / ``omit`` placeholders."""
    return type(value).__name__ in _SENTINELS


def get(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` for models, ``obj[name]`` for dicts, ``default`` when missing or None."""
    if obj is None:
        return default
    value = obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)
    return default if value is None or is_sentinel(value) else value


def plain(obj: Any) -> Any:
    """A model as JSON-like values (dicts and lists pass through, sentinels are left out)."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if not is_sentinel(v)}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def sse_data(text: str) -> Iterator[Any]:
    """The JSON payloads of the ``data:`` lines of a server-sent-event body."""
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data and data != "[DONE]":
            with contextlib.suppress(ValueError):
                yield json.loads(data)
