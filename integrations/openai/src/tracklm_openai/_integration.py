"""What is wrapped, and how one call is recognized on the caller's thread.

One wrapper on the client's ``request`` method (sync and async) sees every endpoint and every
form of a call: the resource methods, their ``with_raw_response`` and
``with_streaming_response`` forms, and the ``stream`` / ``parse`` helpers all end there, once
per call and with retries inside. The URL path says which operation it is; other endpoints
(files, models...) are not recorded.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from tracklm.integration import (
    CallHandle,
    CallStart,
    Integration,
    RequestInfo,
    ResponseInfo,
    Target,
)
from tracklm_openai import _raw
from tracklm_openai._requests import Request, read_request
from tracklm_openai._responses import read_chunks, read_response

# URL path suffix -> operation (GenAI semantic-convention names where they exist)
_OPERATIONS: Final = (
    ("/chat/completions", "chat"),
    ("/completions", "completion"),
    ("/embeddings", "embedding"),
    ("/responses", "responses"),
)
# known hosts of OpenAI-compatible APIs -> gen_ai.provider.name
_PROVIDERS: Final = {
    "api.openai.com": "openai",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.x.ai": "x_ai",
    "api.mistral.ai": "mistral_ai",
    "api.perplexity.ai": "perplexity",
    "api.together.xyz": "together_ai",
    "openrouter.ai": "openrouter",
    "api.fireworks.ai": "fireworks_ai",
    "generativelanguage.googleapis.com": "gcp.gemini",
}
_provider_of_client: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


class _Reader:
    def request(self, request: Request) -> RequestInfo:
        return read_request(request)

    def response(self, request: Request, response: Any) -> ResponseInfo:
        return read_response(request.operation, response)

    def chunks(self, request: Request, chunks: list[Any]) -> ResponseInfo:
        return read_chunks(request.operation, chunks)


def _start(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallStart | None:
    options = args[1] if len(args) > 1 else kwargs.get("options")
    if options is None or getattr(options, "method", "").lower() != "post":
        return None
    path = options.url.split("?", 1)[0].rstrip("/")
    operation = next((op for suffix, op in _OPERATIONS if path.endswith(suffix)), None)
    if operation is None:
        return None
    body = options.json_data
    model = body.get("model") if isinstance(body, dict) else None
    return CallStart(
        operation=operation,
        model=model if isinstance(model, str) else None,
        request=Request(operation, options),
        stream=bool(kwargs.get("stream")),
        provider=_provider(instance),
    )


def _provider(client: Any) -> str:
    try:
        return _provider_of_client[client]
    except (KeyError, TypeError):
        pass
    name = type(client).__name__
    if "Azure" in name:
        provider = "azure.ai.openai"
    else:
        host = urlsplit(str(getattr(client, "base_url", ""))).hostname or ""
        provider = _PROVIDERS.get(host) or (host if host else "openai")
    with contextlib.suppress(TypeError):  # a client that cannot be weakly referenced
        _provider_of_client[client] = provider
    return provider


def _on_result(call: CallHandle, start: CallStart, result: Any) -> Any:
    return _raw.handle(call, result)


class OpenAIIntegration(Integration):
    """The ``openai`` integration (entry point ``openai``)."""

    name = "openai"
    package = "openai"
    supported = ">=1.40"

    def targets(self) -> Sequence[Target]:
        reader = _Reader()
        return [
            Target("openai._base_client", "SyncAPIClient.request", _start, reader, _on_result),
            Target("openai._base_client", "AsyncAPIClient.request", _start, reader, _on_result),
        ]
