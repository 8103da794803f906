"""What is wrapped, and how one call is recognized on the caller's thread.

One wrapper on the client's ``request`` method (sync and async) sees every form of a Messages
call: ``messages.create`` (streamed or not), ``messages.parse``, the ``messages.stream()``
helper, the ``beta.messages`` ones, their ``with_raw_response`` and
``with_streaming_response`` forms, and the same calls through the Bedrock, Vertex and other
platform clients, which share these classes. Each call reaches ``request`` once (retries
happen inside it) with the URL path ``/v1/messages``, before a platform client rewrites it;
other endpoints (``/v1/messages/count_tokens``, batches, models, files...) are not recorded.

This module does not import ``anthropic``: ``tracklm.autolog()`` loads it to learn what to
patch, and the SDK may be imported later (or never).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from tracklm.integration import CallStart, Integration, RequestInfo, ResponseInfo, Target
from tracklm.integration.stainless import Request, request_options, stream_targets
from tracklm_anthropic import _legacy, _stream_models
from tracklm_anthropic._providers import provider_of
from tracklm_anthropic._requests import read_request, snapshot
from tracklm_anthropic._responses import read_events, read_message

_MESSAGES_PATH: Final = "/v1/messages"


class _Reader:
    def request(self, request: Request) -> RequestInfo:
        return read_request(request)

    def response(self, request: Request, response: Any) -> ResponseInfo:
        return read_message(response)

    def chunks(self, request: Request, chunks: list[Any]) -> ResponseInfo:
        return read_events(chunks, request.separator)


def _start(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallStart | None:
    options = request_options(args, kwargs)
    if options is None or not options.path.endswith(_MESSAGES_PATH):
        return None
    if _legacy.legacy_helpers:  # an old release's stream helper records this call itself
        headers = getattr(options.options, "headers", None)
        if (
            isinstance(headers, Mapping)
            and headers.get(_legacy.STREAM_HELPER_HEADER) in _legacy.legacy_helpers
        ):
            return None
    request = snapshot(options.body, options.extra)
    return CallStart("chat", request.model, request, options.stream, provider_of(instance))


class AnthropicIntegration(Integration):
    """The ``anthropic`` integration (entry point ``anthropic``)."""

    name = "anthropic"
    package = "anthropic"
    supported = ">=0.30,<3"
    """The ``anthropic`` releases tested (the oldest in CI's second run); the one place it is
    written."""

    def targets(self) -> Sequence[Target]:
        from tracklm_anthropic._raw import handle

        _stream_models.hold()  # the stream helpers' models, built once (see the module)
        reader = _Reader()
        return [
            Target("anthropic._base_client", "SyncAPIClient.request", _start, reader, handle),
            Target("anthropic._base_client", "AsyncAPIClient.request", _start, reader, handle),
            *stream_targets("anthropic._streaming", reader),
            *_legacy.targets(reader, handle),
        ]
