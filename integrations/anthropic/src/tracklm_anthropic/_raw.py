"""What the wrapped ``request`` returns, and how each form of it is recorded.

The core's :class:`tracklm.integration.stainless.ResultHandler` records a ``Message``
(``ParsedMessage`` from ``messages.parse``), raw responses (``with_raw_response``) and
streaming ones (``with_streaming_response``), and the ``Stream`` / ``AsyncStream`` it
returns as they are, their events watched in place (releases before 1.0 answer
``isinstance(s, Stream)`` for the exact class only: a proxy would fail it), given the SDK's
classes. What is Anthropic's own: ``LegacyAPIResponse`` exists in old releases only.
"""

from __future__ import annotations

import importlib

from anthropic import AsyncStream, Stream
from anthropic._response import APIResponse, AsyncAPIResponse
from anthropic._streaming import SSEDecoder

from tracklm.integration.stainless import ResultHandler


def _legacy_response_class() -> type | None:
    """``LegacyAPIResponse``, what ``with_raw_response`` gives in releases that have it."""
    try:
        module = importlib.import_module("anthropic._legacy_response")
    except ImportError:
        return None
    found = getattr(module, "LegacyAPIResponse", None)
    return found if isinstance(found, type) else None


handle = ResultHandler(
    streams=(Stream, AsyncStream),
    api_response=APIResponse,
    async_api_response=AsyncAPIResponse,
    legacy_response=_legacy_response_class(),
    sse_decoder=SSEDecoder,
)
"""Record what ``request`` returned and return what the caller gets (a target's
``on_result``)."""
