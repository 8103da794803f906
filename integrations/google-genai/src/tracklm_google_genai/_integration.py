"""What is wrapped, and how one call is recognized on the caller's thread.

The public methods of ``google.genai.models.Models`` and ``AsyncModels`` are wrapped:
``generate_content``, ``generate_content_stream`` and ``embed_content``. Unlike the OpenAI
and Anthropic SDKs, the Google SDK has no single low-level method worth wrapping to read
requests: its ``BaseApiClient.request`` gets a body already converted to the wire format of
one of two APIs (Gemini API or Vertex AI, with different field names and paths), and the
SDK calls it several times for one call of the user (automatic function calling, automatic
continuation). The public methods take the caller's own ``model``, ``contents`` and
``config`` (keyword-only), the same for both APIs, and are what one row should be:

- one call of ``generate_content`` is one row, with the automatic function calling and
  continuation round trips inside it (the row's usage is the returned response's);
- chats (``client.chats`` / ``client.aio.chats``) call ``generate_content`` /
  ``generate_content_stream`` of their client's models once per turn (once per round trip
  of automatic function calling), with the curated history and the new message as
  ``contents``: each turn is one row whose inputs are the whole history sent;
- ``generate_content_stream`` returns a generator (sync), or a coroutine giving an async
  iterator (async): the core wraps that iterator in its transparent stream proxy, which
  keeps the plain-text chunks as their text (``_responses.chunk_keeper``).

The provider (``gen_ai.provider.name``) is read from the client: ``gcp.vertex_ai`` for a
Vertex AI client (``client.vertexai``), else ``gcp.gemini`` (the Gemini Developer API), the
well-known values of the OpenTelemetry GenAI semantic conventions (``gcp.gen_ai`` is for an
endpoint whose backend is unknown, which never happens here).

This module does not import ``google.genai``: ``tracklm.autolog()`` loads it to learn what
to patch, and the SDK may be imported later (or never).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from tracklm.integration import (
    CallHandle,
    CallStart,
    Integration,
    RequestInfo,
    ResponseInfo,
    Target,
)
from tracklm_google_genai._requests import Request, read_request
from tracklm_google_genai._responses import (
    chunk_keeper,
    read_chunks,
    read_embeddings,
    read_response,
)
from tracklm_google_genai._values import snapshot

MODULE: Final = "google.genai.models"
GENERATE: Final = "generate_content"
EMBEDDING: Final = "embedding"
GEMINI: Final = "gcp.gemini"
VERTEX_AI: Final = "gcp.vertex_ai"


class _Reader:
    def request(self, request: Request) -> RequestInfo:
        return read_request(request)

    def response(self, request: Request, response: Any) -> ResponseInfo:
        if request.operation == EMBEDDING:
            return read_embeddings(response)
        return read_response(response)

    def chunks(self, request: Request, chunks: list[Any]) -> ResponseInfo:
        return read_chunks(chunks)


def provider_of(models: Any) -> str:
    """``gcp.vertex_ai`` for the models of a Vertex AI client, else ``gcp.gemini``."""
    api_client = getattr(models, "_api_client", None)
    return VERTEX_AI if getattr(api_client, "vertexai", False) else GEMINI


def _starter(operation: str, stream: bool) -> Any:
    def start(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallStart:
        # the methods take keyword arguments only: model, contents, config
        model = kwargs.get("model")
        request = Request(
            operation, model, snapshot(kwargs.get("contents")), snapshot(kwargs.get("config"))
        )
        return CallStart(
            operation=operation,
            model=model if isinstance(model, str) else None,
            request=request,
            stream=stream,
            provider=provider_of(instance),
        )

    return start


def _stream_result(call: CallHandle, stream: Any) -> Any:
    return call.wrap_stream(stream, keep=chunk_keeper())


class GoogleGenAIIntegration(Integration):
    """The ``google-genai`` integration (entry point ``google-genai``)."""

    name = "google-genai"
    package = "google.genai"
    distribution = "google-genai"
    supported = ">=1.0,<4"
    """The ``google-genai`` releases tested (the oldest in CI's second run); the one place it
    is written."""

    def targets(self) -> Sequence[Target]:
        reader = _Reader()
        generate = _starter(GENERATE, stream=False)
        stream = _starter(GENERATE, stream=True)
        embed = _starter(EMBEDDING, stream=False)
        return [
            Target(MODULE, f"{cls}.{method}", start, reader, *on_result)
            for cls in ("Models", "AsyncModels")
            for method, start, on_result in (
                ("generate_content", generate, ()),
                ("generate_content_stream", stream, (_stream_result,)),
                ("embed_content", embed, ()),
            )
        ]
