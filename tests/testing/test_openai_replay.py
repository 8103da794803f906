"""Replaying recorded OpenAI responses to the real openai SDK."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from pathlib import Path

import openai
import pytest

from tracklm.testing import LLMServer

Cassette = Callable[[str, str], Path]
SAY_TEST = [{"role": "user", "content": "Say this is a test"}]


def client_for(server: LLMServer) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", base_url=server.openai_base_url, max_retries=0)


def test_chat_completion_is_replayed_from_its_cassette(cassette: Cassette) -> None:
    with (
        LLMServer(cassette("openai", "test_chat_completion_with_content")) as server,
        client_for(server) as client,
    ):
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)

    assert reply.id == "chatcmpl-ASYMQRl3A3DXL9FWCK9tnGRcKIO7q"
    assert reply.choices[0].message.content == "This is a test."
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (12, 5)


def test_async_client_gets_the_recorded_chat_completion(cassette: Cassette) -> None:
    async def call(server: LLMServer) -> str | None:
        async with openai.AsyncOpenAI(api_key="test", base_url=server.openai_base_url) as client:
            reply = await client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)
            return reply.choices[0].message.content

    with LLMServer(cassette("openai", "test_async_chat_completion_with_content")) as server:
        assert asyncio.run(call(server)) == "This is a test. How can I assist you further?"


def test_stream_is_replayed_chunk_by_chunk_with_usage(cassette: Cassette) -> None:
    with (
        LLMServer(cassette("openai", "test_chat_completion_streaming")) as server,
        client_for(server) as client,
    ):
        stream = client.chat.completions.create(
            model="gpt-4", messages=SAY_TEST, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == '"This is a test."'
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 17


def test_first_chunk_delay_shows_as_time_to_first_token(cassette: Cassette) -> None:
    path = cassette("openai", "test_chat_completion_streaming")
    with LLMServer(path, first_chunk_delay=0.3) as server, client_for(server) as client:
        started = time.perf_counter()
        stream = client.chat.completions.create(
            model="gpt-4", messages=SAY_TEST, stream=True, stream_options={"include_usage": True}
        )
        headers_at = time.perf_counter() - started
        arrivals = [time.perf_counter() - started for _ in stream]

    assert arrivals[0] >= 0.29  # the delay applies to the first chunk...
    assert arrivals[0] - headers_at >= 0.2  # ...which comes well after the headers


def test_async_stream_is_replayed(cassette: Cassette) -> None:
    async def call(server: LLMServer) -> list[str]:
        async with openai.AsyncOpenAI(api_key="test", base_url=server.openai_base_url) as client:
            stream = await client.chat.completions.create(
                model="gpt-4",
                messages=SAY_TEST,
                stream=True,
                stream_options={"include_usage": True},
            )
            return [c.choices[0].delta.content or "" async for c in stream if c.choices]

    with LLMServer(cassette("openai", "test_async_chat_completion_streaming")) as server:
        assert "".join(asyncio.run(call(server))) == "This is a test."


def test_tool_call_turns_are_replayed_in_order(cassette: Cassette) -> None:
    path = cassette("openai", "test_chat_completion_tool_calls_no_content")
    with LLMServer(path) as server, client_for(server) as client:
        first = client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)
        second = client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)

    calls = first.choices[0].message.tool_calls or []
    assert [c.function.arguments for c in calls if c.type == "function"] == [
        '{"location": "Seattle, WA"}',
        '{"location": "San Francisco, CA"}',
    ]
    assert first.choices[0].finish_reason == "tool_calls"
    assert "50 degrees and raining" in (second.choices[0].message.content or "")


def test_embeddings_are_replayed_as_floats_and_base64(cassette: Cassette) -> None:
    paths = [
        cassette("openai", "test_embeddings_with_content"),
        cassette("openai", "test_embeddings_with_encoding_format"),
    ]
    with LLMServer(paths) as server, client_for(server) as client:
        plain = client.embeddings.create(
            model="text-embedding-3-small",
            input="This is a test for embeddings",
            encoding_format="float",
        )
        encoded = client.embeddings.create(
            model="text-embedding-3-small",
            input="This is a test for embeddings with encoding format",
            encoding_format="base64",
        )

    assert plain.data[0].embedding[0] == pytest.approx(0.009180067)
    assert len(plain.data[0].embedding) == 1536
    assert isinstance(encoded.data[0].embedding, str)  # base64 asked for: left encoded
    assert len(base64.b64decode(encoded.data[0].embedding)) == 1536 * 4


def test_responses_api_is_replayed(cassette: Cassette) -> None:
    path = cassette("openai", "test_responses_create_basic[content_mode0]")
    with LLMServer(path) as server, client_for(server) as client:
        response = client.responses.create(
            model="gpt-4o-mini",
            input="Say this is a test",
            instructions="You are a helpful assistant.",
        )

    assert response.output_text == "This is a test."
    assert response.usage is not None
    assert response.usage.total_tokens > 0


def test_responses_stream_is_replayed_event_by_event(cassette: Cassette) -> None:
    path = cassette("openai", "test_responses_create_streaming[content_mode0]")
    with LLMServer(path) as server, client_for(server) as client:
        events = list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True))

    kinds = [event.type for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "This is a test."


def test_recorded_404_raises_not_found_in_the_sdk(cassette: Cassette) -> None:
    with (
        LLMServer(cassette("openai", "test_chat_completion_404")) as server,
        client_for(server) as client,
        pytest.raises(openai.NotFoundError, match="does not exist"),
    ):
        client.chat.completions.create(model="this-model-does-not-exist", messages=SAY_TEST)


def test_azure_style_path_is_answered_by_an_openai_recording(cassette: Cassette) -> None:
    path = cassette("openai", "test_chat_completion_with_content")
    with (
        LLMServer(path) as server,
        openai.AzureOpenAI(
            api_key="test", api_version="2024-10-21", azure_endpoint=server.url
        ) as client,
    ):
        reply = client.chat.completions.create(model="my-deployment", messages=SAY_TEST)

    assert reply.choices[0].message.content == "This is a test."
    assert server.requests[0].path == "/openai/deployments/my-deployment/chat/completions"
    assert server.requests[0].query["api-version"] == "2024-10-21"


def test_used_recording_is_not_replayed_again_without_repeat(cassette: Cassette) -> None:
    with (
        LLMServer(cassette("openai", "test_chat_completion_with_content")) as server,
        client_for(server) as client,
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)
        with pytest.raises(openai.NotFoundError, match="no recorded response for POST"):
            client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)


def test_repeat_replays_one_recording_in_a_loop(cassette: Cassette) -> None:
    path = cassette("openai", "test_chat_completion_with_content")
    with LLMServer(path, repeat=True) as server, client_for(server) as client:
        replies = [
            client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST) for _ in range(5)
        ]

    assert {r.id for r in replies} == {"chatcmpl-ASYMQRl3A3DXL9FWCK9tnGRcKIO7q"}


def test_recording_whose_body_matches_the_request_is_preferred(cassette: Cassette) -> None:
    paths = [
        cassette("openai", "test_chat_completion_with_content"),
        cassette("openai", "test_chat_completion_404"),
    ]
    with LLMServer(paths) as server, client_for(server) as client:
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="this-model-does-not-exist", messages=SAY_TEST)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST, stream=False)

    assert reply.choices[0].message.content == "This is a test."


def test_unmatched_request_error_names_the_request_and_what_is_loaded(
    cassette: Cassette,
) -> None:
    with (
        LLMServer(cassette("openai", "test_embeddings_with_content")) as server,
        client_for(server) as client,
        pytest.raises(openai.NotFoundError) as raised,
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)

    message = str(raised.value)
    assert "no recorded response for POST /v1/chat/completions" in message
    assert "POST embeddings (test_embeddings_with_content.yaml#0)" in message
