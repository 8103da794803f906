"""What the wrapped ``request`` returns, and how each form of it is recorded.

The core's :class:`tracklm.integration.stainless.ResultHandler` records parsed objects,
streams and raw / streaming responses, given the SDK's classes. What is OpenAI's own: the
``stream`` helpers (``chat.completions.stream``, ``responses.stream``) iterate the watched
``Stream`` but close its HTTP response themselves; :func:`finish_helper_stream` runs before
their ``close()`` so the call ends when they do, not when they are garbage collected.
"""

from __future__ import annotations

from typing import Any

from openai import AsyncStream, Stream
from openai._legacy_response import LegacyAPIResponse
from openai._response import APIResponse, AsyncAPIResponse
from openai._streaming import SSEDecoder

from tracklm.integration.stainless import ResultHandler, watched_call

handle = ResultHandler(
    streams=(Stream, AsyncStream),
    api_response=APIResponse,
    async_api_response=AsyncAPIResponse,
    legacy_response=LegacyAPIResponse,
    sse_decoder=SSEDecoder,
)
"""Record what ``request`` returned and return what the caller gets (a target's
``on_result``)."""


def finish_helper_stream(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a helper stream's ``close()``: finish the call of the stream it wraps.

    A target's ``start`` hook that records nothing itself (it returns None)."""
    # the helper iterates what ``request`` returned: the stream the core watches
    call = watched_call(getattr(instance, "_raw_stream", None))
    if call is not None:
        call.done(None)
