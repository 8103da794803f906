"""Echo mode: deterministic OpenAI-compatible answers computed from the request."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ._echo_chat import chat_completion, completion
from ._echo_embeddings import embeddings
from ._echo_responses import response
from ._paths import api_path
from ._reply import Reply, error_reply

__all__ = ["ECHO_PATHS", "Echo"]

_Handler = Callable[[Mapping[str, Any], int], Reply]
_HANDLERS: Mapping[str, _Handler] = {
    "chat/completions": chat_completion,
    "completions": completion,
    "embeddings": lambda request, _number: embeddings(request),
    "responses": response,
}
ECHO_PATHS = tuple(sorted(_HANDLERS))
"""The API paths echo mode answers (``POST`` only), as :func:`api_path` gives them."""


class Echo:
    """Answers requests to :data:`ECHO_PATHS`; ids count up from 1 per instance."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def answer(self, method: str, path: str, body: bytes) -> Reply | None:
        """The echo reply to a request, or ``None`` if echo mode has no answer for its path."""
        handler = _HANDLERS.get(api_path(path))
        if handler is None or method.upper() != "POST":
            return None
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if not isinstance(request, Mapping):
            message = f"tracklm.testing echo: the body of POST {path} is not a JSON object"
            return error_reply(400, message, "invalid_request_error")
        with self._lock:
            number = next(self._numbers)
        return handler(request, number)
