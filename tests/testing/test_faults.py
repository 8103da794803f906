"""Scripted faults: queued responses that fail, stall, break off or carry bad bodies."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai
import pytest

from tracklm.testing import LLMServer

RawPost = Callable[..., tuple[int, dict[str, str], bytes]]
HI = [{"role": "user", "content": "hi"}]
FAST_RETRY = {"retry-after-ms": "1"}
OVERLOADED = {"error": {"message": "overloaded", "type": "server_error"}}


def chunk(content: str) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }


@pytest.fixture
def client(llm_server: LLMServer) -> Any:
    url = llm_server.openai_base_url
    with openai.OpenAI(api_key="test", base_url=url, max_retries=2) as client:
        yield client


def test_500_then_200_succeeds_through_the_sdk_retry(
    llm_server: LLMServer, client: openai.OpenAI
) -> None:
    llm_server.queue_response(500, OVERLOADED, headers=FAST_RETRY)

    reply = client.chat.completions.create(model="m", messages=HI)

    assert reply.choices[0].message.content == "echo: hi"
    retries = [r.header("x-stainless-retry-count") for r in llm_server.requests]
    assert retries == ["0", "1"]


def test_queued_response_answers_the_next_n_requests_only(
    llm_server: LLMServer, client: openai.OpenAI
) -> None:
    llm_server.queue_response(500, OVERLOADED, headers=FAST_RETRY, times=3)

    with pytest.raises(openai.InternalServerError, match="overloaded"):
        client.chat.completions.create(model="m", messages=HI)
    assert len(llm_server.requests) == 3
    assert client.chat.completions.create(model="m", messages=HI).choices


def test_queued_response_is_used_before_a_matching_cassette(
    cassette: Callable[[str, str], Any],
) -> None:
    path = cassette("openai", "test_chat_completion_with_content")
    with (
        LLMServer(path) as server,
        openai.OpenAI(api_key="t", base_url=server.openai_base_url, max_retries=0) as client,
    ):
        server.queue_response(429, {"error": {"message": "slow down", "type": "rate_limit"}})
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=HI)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=HI)

    assert reply.choices[0].message.content == "This is a test."


def test_stream_cut_after_k_chunks_raises_in_the_sdk(
    llm_server: LLMServer, client: openai.OpenAI
) -> None:
    llm_server.queue_response(chunks=[chunk("one"), chunk(" two"), chunk(" three")], cut_after=2)
    received: list[str] = []

    stream = client.chat.completions.create(model="m", messages=HI, stream=True)
    with pytest.raises(openai.APIConnectionError):
        received.extend(c.choices[0].delta.content or "" for c in stream)

    assert received == ["one", " two"]


def test_body_cut_before_it_ends_raises_in_the_sdk(
    llm_server: LLMServer, client: openai.OpenAI
) -> None:
    llm_server.queue_response(200, b'{"id": "x", "choices": [', cut_after=0)
    with pytest.raises(openai.APIConnectionError):
        client.with_options(max_retries=0).chat.completions.create(model="m", messages=HI)


def test_malformed_json_body_reaches_the_sdk_as_an_error(
    llm_server: LLMServer, client: openai.OpenAI
) -> None:
    llm_server.queue_response(200, '{"id": "chatcmpl-1", "choices": [')
    # This SDK version lets the JSONDecodeError through; others wrap it in an APIError.
    with pytest.raises((openai.APIError, ValueError)):
        client.chat.completions.create(model="m", messages=HI)


def test_huge_body_is_sent_whole(llm_server: LLMServer, raw_post: RawPost) -> None:
    huge = b"x" * 20_000_000
    llm_server.queue_response(200, huge, headers={"Content-Type": "text/plain"})

    status, headers, body = raw_post(llm_server, "/v1/chat/completions", {})

    assert status == 200
    assert headers["Content-Type"] == "text/plain"
    assert body == huge


def test_queued_chunks_are_paced_by_their_delays(
    llm_server: LLMServer, client: openai.OpenAI
) -> None:
    events = [chunk("a"), chunk("b"), chunk("c"), "data: [DONE]\n\n"]
    llm_server.queue_response(chunks=events, first_chunk_delay=0.2, chunk_delay=0.1)

    started = time.perf_counter()
    stream = client.chat.completions.create(model="m", messages=HI, stream=True)
    arrivals = [time.perf_counter() - started for _ in stream]

    assert len(arrivals) == 3
    assert arrivals[0] >= 0.19
    assert arrivals[2] - arrivals[0] >= 0.15


def test_queue_response_rejects_both_body_and_chunks(llm_server: LLMServer) -> None:
    with pytest.raises(ValueError, match="body or chunks"):
        llm_server.queue_response(200, b"{}", chunks=[b"x"])
