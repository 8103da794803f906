"""What the server sends back for one request: status, headers and body pieces."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Reply", "error_reply", "json_reply", "sse_reply"]


@dataclass(frozen=True)
class Reply:
    """A response to send.

    ``chunks`` are written one at a time. With ``stream`` (or ``cut_after``) the body goes out
    with chunked transfer encoding, each chunk flushed on its own after its delay, so a client
    sees the first before the last; otherwise it goes out in one piece with a Content-Length.
    ``cut_after=k`` writes k chunks and then closes the connection without ending the body.
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    chunks: tuple[bytes, ...] = ()
    stream: bool = False
    reason: str | None = None
    chunk_delay: float = 0.0
    first_chunk_delay: float = 0.0
    cut_after: int | None = None

    @property
    def body(self) -> bytes:
        """All chunks joined."""
        return b"".join(self.chunks)


def json_reply(status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    """A JSON response."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, (("Content-Type", "application/json"), *headers), (body,))


def sse_reply(events: Sequence[bytes]) -> Reply:
    """A server-sent-events response, one chunk per event."""
    headers = (("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"))
    return Reply(200, headers, tuple(events), stream=True)


def error_reply(status: int, message: str, error_type: str, code: str | None = None) -> Reply:
    """An error in the OpenAI shape ``{"error": {"message", "type", "param", "code"}}``.

    ``x-should-retry: false`` keeps SDKs from retrying it.
    """
    error = {"message": message, "type": error_type, "param": None, "code": code}
    return json_reply(status, {"error": error}, (("x-should-retry", "false"),))
