"""Replaying recorded Anthropic and Google Gen AI responses to their real SDKs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import anthropic
from google import genai
from google.genai import types

from tracklm.testing import LLMServer

Cassette = Callable[[str, str], Path]
JOKE = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]
POEM = "Create a poem about Open Telemetry."
GEMINI = "gemini-2.5-flash-vertexaiapi"


def test_anthropic_gzip_recording_is_sent_compressed_and_decoded_by_the_sdk(
    cassette: Cassette,
) -> None:
    path = cassette("anthropic", "test_messages__test_anthropic_message_create_legacy")
    with (
        LLMServer(path) as server,
        anthropic.Anthropic(api_key="test", base_url=server.url) as client,
    ):
        raw = client.messages.with_raw_response.create(
            model="claude-3-opus-20240229", max_tokens=1024, messages=JOKE
        )
        message = raw.parse()

    assert raw.headers["content-encoding"] == "gzip"
    assert message.usage.input_tokens == 17
    assert message.usage.output_tokens == 220
    assert message.content[0].type == "text"


def test_anthropic_stream_is_replayed_event_by_event(cassette: Cassette) -> None:
    path = cassette("anthropic", "test_messages__test_anthropic_message_streaming_legacy")
    with (
        LLMServer(path) as server,
        anthropic.Anthropic(api_key="test", base_url=server.url) as client,
    ):
        events = list(
            client.messages.create(
                model="claude-3-haiku-20240307", max_tokens=1024, messages=JOKE, stream=True
            )
        )

    assert events[0].type == "message_start"
    assert events[-1].type == "message_stop"
    text = "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text.startswith("Here's an OpenTelemetry-themed joke")


def test_anthropic_async_stream_manager_gets_the_final_message(cassette: Cassette) -> None:
    name = "test_messages__test_async_anthropic_message_stream_manager_legacy"

    async def call(server: LLMServer) -> int:
        async with (
            anthropic.AsyncAnthropic(api_key="test", base_url=server.url) as client,
            client.messages.stream(
                model="claude-3-haiku-20240307", max_tokens=1024, messages=JOKE
            ) as stream,
        ):
            message = await stream.get_final_message()
            return message.usage.output_tokens

    with LLMServer(cassette("anthropic", name)) as server:
        assert asyncio.run(call(server)) > 0


def test_anthropic_cassette_with_two_interactions_answers_both_calls(
    cassette: Cassette,
) -> None:
    path = cassette("anthropic", "test_prompt_caching__test_anthropic_prompt_caching_legacy")
    with (
        LLMServer(path) as server,
        anthropic.Anthropic(api_key="test", base_url=server.url) as client,
    ):
        first, second = (
            client.messages.create(
                model="claude-3-5-sonnet-20240620", max_tokens=1024, messages=JOKE
            )
            for _ in range(2)
        )

    assert first.usage.cache_creation_input_tokens
    assert second.usage.cache_read_input_tokens


def gemini_client(server: LLMServer) -> genai.Client:
    return genai.Client(api_key="test", http_options=types.HttpOptions(base_url=server.url))


def test_vertex_recording_answers_gemini_api_generate_content(cassette: Cassette) -> None:
    path = cassette("google-genai", f"test_non_streaming[logcontent-{GEMINI}-sync-default]")
    with LLMServer(path) as server, gemini_client(server) as client:
        response = client.models.generate_content(model="gemini-2.5-flash", contents=POEM)

    assert response.text is not None
    assert response.text.startswith("In systems vast, where services reside")
    assert response.usage_metadata is not None
    assert response.usage_metadata.total_token_count == 1918
    assert server.requests[0].path.endswith("/models/gemini-2.5-flash:generateContent")


def test_gemini_stream_is_replayed(cassette: Cassette) -> None:
    path = cassette("google-genai", f"test_streaming[logcontent-{GEMINI}-sync-default]")
    with LLMServer(path) as server, gemini_client(server) as client:
        chunks = list(
            client.models.generate_content_stream(model="gemini-2.5-flash", contents=POEM)
        )

    assert len(chunks) == 6
    usage = chunks[-1].usage_metadata
    assert usage is not None
    assert usage.total_token_count == 2589
