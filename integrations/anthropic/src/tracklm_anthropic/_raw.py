"""What the wrapped ``request`` returns, and how each form of it is recorded.

The core's :class:`tracklm.integration.stainless.ResultHandler` records a ``Message``
(``ParsedMessage`` from ``messages.parse``), raw responses (``with_raw_response``) and
streaming ones (``with_streaming_response``), given the SDK's classes. What is Anthropic's
own: ``Stream`` / ``AsyncStream`` are returned as they are, their events watched
(:mod:`._streams`), as releases before 1.0 answer ``isinstance(s, Stream)`` for the exact
class only; ``LegacyAPIResponse`` exists in old releases only.
"""

from __future__ import annotations

import importlib

from anthropic import AsyncStream, Stream
from anthropic._response import APIResponse, AsyncAPIResponse
from anthropic._streaming import SSEDecoder

from tracklm.integration.stainless import ResultHandler
from tracklm_anthropic._streams import watch


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
    watch_stream=watch,
    sse_decoder=SSEDecoder,
)
"""Record what ``request`` returned and return what the caller gets (a target's
``on_result``)."""
