"""What is wrapped, and how one call is recognized on the caller's thread.

One wrapper on the client's ``request`` method (sync and async) sees every endpoint and every
form of a call: the resource methods, their ``with_raw_response`` and
``with_streaming_response`` forms, and the ``stream`` / ``parse`` helpers all end there, once
per call, with retries inside. The URL path says which operation it is; other endpoints
(files, models...) and other methods (``GET`` of a stored response) are not recorded.

This module does not import ``openai``: ``tracklm.autolog()`` loads it to learn what to
patch, and the SDK may be imported later (or never).
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from tracklm.integration import CallStart, Integration, RequestInfo, ResponseInfo, Target
from tracklm.integration.stainless import request_options, stream_targets
from tracklm_openai._requests import Request, read_request
from tracklm_openai._responses import read_chunks, read_response

# URL path suffix -> operation (GenAI semantic-convention names where they exist); the
# first that fits wins, so /chat/completions comes before /completions
_OPERATIONS: Final = (
    ("/chat/completions", "chat"),
    ("/completions", "completion"),
    ("/embeddings", "embedding"),
    ("/responses", "responses"),
)
# hosts of OpenAI-compatible APIs -> gen_ai.provider.name
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
_AZURE_HOSTS: Final = (".openai.azure.com", ".cognitiveservices.azure.com")
# the helpers' stream classes, whose close() ends the HTTP response behind the watch's back
_HELPER_STREAMS: Final = (
    (
        "openai.lib.streaming.chat._completions",
        ("ChatCompletionStream", "AsyncChatCompletionStream"),
    ),
    ("openai.lib.streaming.responses._responses", ("ResponseStream", "AsyncResponseStream")),
)


class _Reader:
    def request(self, request: Request) -> RequestInfo:
        return read_request(request)

    def response(self, request: Request, response: Any) -> ResponseInfo:
        return read_response(request.operation, response)

    def chunks(self, request: Request, chunks: list[Any]) -> ResponseInfo:
        return read_chunks(request.operation, chunks, request.separator)


def _start(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallStart | None:
    options = request_options(args, kwargs)
    if options is None:
        return None
    path = options.path
    operation = _operations.get(path)
    if operation is None:
        operation = _operation(path)
    if operation is _NONE:
        return None
    request = Request(
        operation,
        options.body,
        options.extra,
        options.options.post_parser if operation == "embedding" else None,
    )
    provider, secrets = _client_facts(instance)
    return CallStart(operation, request.model, request, options.stream, provider, secrets)


def _operation(path: str) -> str:
    found = next((op for suffix, op in _OPERATIONS if path.endswith(suffix)), _NONE)
    if len(_operations) < 1024:
        _operations[path] = found
    return found


_NONE: Final = ""  # no operation of ours: an endpoint not recorded
_operations: dict[str, str] = {}  # URL path -> operation (few paths: each is matched once)


_CREDENTIAL_HEADERS: Final = frozenset(
    {"authorization", "api-key", "x-api-key", "proxy-authorization", "openai-api-key"}
)

# id(client) -> (a weak reference to it, the api_key and headers read, their count, provider,
# secrets): read once per client, not per call (a WeakKeyDictionary lookup alone makes a weak
# reference per call); a client whose key or headers change is read again
_clients: dict[int, tuple[weakref.ref[Any], Any, Any, int, str, tuple[str, ...]]] = {}


def _client_facts(client: Any) -> tuple[str, tuple[str, ...]]:
    """(provider, secrets) of a client."""
    api_key = getattr(client, "api_key", None)
    headers = getattr(client, "_custom_headers", None)
    count = len(headers) if isinstance(headers, dict) else 0
    key = id(client)
    entry = _clients.get(key)
    if (
        entry is not None
        and entry[0]() is client
        and entry[1] is api_key
        and entry[2] is headers
        and entry[3] == count
    ):
        return entry[4], entry[5]
    provider, secrets = provider_of(client), _credentials(client)
    try:
        ref = weakref.ref(client, lambda _, key=key: _clients.pop(key, None))  # type: ignore[misc]
    except TypeError:  # a client that cannot be weakly referenced: read it at every call
        return provider, secrets
    _clients[key] = (ref, api_key, headers, count, provider, secrets)
    return provider, secrets


def _credentials(client: Any) -> tuple[str, ...]:
    """The client's key and the credential headers it sends (a bearer token without its
    scheme), for tracklm to mask wherever a server echoes them; short ones are left out."""
    found = [getattr(client, "api_key", None)]
    for name, value in (getattr(client, "_custom_headers", None) or {}).items():
        if isinstance(name, str) and name.lower() in _CREDENTIAL_HEADERS:
            found.append(value.split(" ", 1)[-1] if isinstance(value, str) else None)
    return tuple(s for s in found if isinstance(s, str) and len(s) >= 8)


def provider_of(client: Any) -> str:
    """The ``gen_ai.provider.name`` of a client: ``azure.ai.openai`` for Azure, the known name
    of its ``base_url`` host (``openai``, ``groq``...), else the host itself (a vLLM or Ollama
    server: ``localhost``, ``gpu-box.internal``)."""
    host = (urlsplit(str(getattr(client, "base_url", ""))).hostname or "").lower()
    if "Azure" in type(client).__name__ or host.endswith(_AZURE_HOSTS):
        return "azure.ai.openai"
    return _PROVIDERS.get(host) or host or "openai"


class OpenAIIntegration(Integration):
    """The ``openai`` integration (entry point ``openai``)."""

    name = "openai"
    package = "openai"
    supported = ">=1.40,<4"
    """The ``openai`` releases tested (the oldest in CI's second run); the one place it is
    written."""

    def targets(self) -> Sequence[Target]:
        from tracklm_openai._raw import finish_helper_stream, handle

        reader = _Reader()
        # the body the SDK built is its own copy (see _requests): the call is read when it ends
        targets = [
            Target("openai._base_client", f"{cls}.request", _start, reader, handle, True)
            for cls in ("SyncAPIClient", "AsyncAPIClient")
        ]
        targets += stream_targets("openai._streaming", reader)
        for module_name, classes in _HELPER_STREAMS:
            try:
                module = importlib.import_module(module_name)
            except ImportError:  # an SDK release without this helper
                continue
            targets += [
                Target(module_name, f"{cls}.close", finish_helper_stream, reader)
                for cls in classes
                if "close" in vars(getattr(module, cls, object))
            ]
        return targets
