"""What arrived at the server: one immutable record per request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["RecordedRequest"]


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received.

    ``headers`` maps lower-cased header names to values (repeated headers joined by ``", "``);
    ``query`` maps query parameter names to their last value; ``body`` is the raw body.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` if it is not JSON)."""
        return json.loads(self.body)

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header's value, looked up without regard to case."""
        return self.headers.get(name.lower(), default)
