"""Helpers shared by the Anthropic integration's tests: clients, scripted responses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import anthropic
import pytest

from tracklm.testing import LLMServer

Replay = Callable[..., LLMServer]
API_KEY = "sk-ant-tracklm-test-0123456789abcdef"
VERSION = anthropic.__version__
JOKE: Any = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]
HAIKU_3 = "claude-3-haiku-20240307"
HAIKU_35 = "claude-3-5-haiku-20241022"
OPUS_3 = "claude-3-opus-20240229"
SONNET_35 = "claude-3-5-sonnet-20240620"
SONNET_37 = "claude-3-7-sonnet-20250219"

needs_parse = pytest.mark.skipif(
    not hasattr(anthropic.resources.messages.Messages, "parse"),
    reason=f"anthropic {VERSION} has no messages.parse",
)


def client(server: LLMServer, **kwargs: Any) -> anthropic.Anthropic:
    kwargs.setdefault("max_retries", 0)
    return anthropic.Anthropic(api_key=API_KEY, base_url=server.url, **kwargs)


def aclient(server: LLMServer, **kwargs: Any) -> anthropic.AsyncAnthropic:
    kwargs.setdefault("max_retries", 0)
    return anthropic.AsyncAnthropic(api_key=API_KEY, base_url=server.url, **kwargs)


def user(text: str) -> Any:
    return [{"role": "user", "content": text}]


def message(text: str = "Hi!", **fields: Any) -> dict[str, Any]:
    """A Messages API response body."""
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 2},
        **fields,
    }


def events(*texts: str, model: str = "claude-test", end: bool = True) -> list[bytes]:
    """The server-sent events of a streamed text answer, one text delta per piece."""
    # as the API does, message_start has a placeholder output count, message_delta the count
    usage = {"input_tokens": 3, "output_tokens": 1}
    start = {**message(model=model, content=[], stop_reason=None), "usage": usage}
    found = [
        ("message_start", {"message": start}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        *(
            ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": t}})
            for t in texts
        ),
    ]
    if end:
        found += [
            ("content_block_stop", {"index": 0}),
            (
                "message_delta",
                {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
            ),
            ("message_stop", {}),
        ]
    return sse(found)


def sse(found: Iterable[tuple[str, dict[str, Any]]]) -> list[bytes]:
    """``event:`` and ``data:`` lines, as the Anthropic API writes them."""
    return [
        f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()
        for kind, data in found
    ]


def error(kind: str, text: str) -> dict[str, Any]:
    """An Anthropic API error body."""
    return {"type": "error", "error": {"type": kind, "message": text}}
