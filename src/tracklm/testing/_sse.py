"""Server-sent events: split a recorded stream into events, and format new ones."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["format_event", "split_events"]

# An event ends at its first blank line; the three line endings SSE allows are all accepted.
_EVENT = re.compile(rb".*?(?:\r\n\r\n|\n\n|\r\r)", re.DOTALL)


def split_events(body: bytes) -> list[bytes]:
    """Split an SSE body into its events, each with its trailing blank line.

    Nothing is dropped or changed: ``b"".join(split_events(body)) == body``. Text after the last
    blank line (a stream cut short) is kept as a final piece.
    """
    events = [match.group() for match in _EVENT.finditer(body)]
    rest = body[sum(len(event) for event in events) :]
    if rest:
        events.append(rest)
    return events


def format_event(data: Mapping[str, Any] | str, event: str | None = None) -> bytes:
    """One SSE event: an optional ``event:`` line, a ``data:`` line, a blank line.

    A mapping is sent as compact JSON; a string (such as ``"[DONE]"``) as it is.
    """
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event is not None else ""
    return f"{head}data: {text}\n\n".encode()
