"""``with_raw_response`` and ``with_streaming_response``: the SDK's objects, recorded once."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from anthropic._response import APIResponse, AsyncAPIResponse
from anthropic_support import HAIKU_3, JOKE, OPUS_3, Replay, aclient, client, events, message

import tracklm
from tracklm.testing import LLMServer, prediction, predictions
from tracklm.testing.integration_checks import dropped_stream_row


def test_a_raw_response_is_the_sdks_own_object_and_is_recorded_at_once(replay: Replay) -> None:
    server = replay("messages__test_anthropic_message_create_legacy")
    with tracklm.start_run() as run:
        raw = client(server).messages.with_raw_response.create(
            model=OPUS_3, max_tokens=1024, messages=JOKE
        )
        assert type(raw).__name__ in ("LegacyAPIResponse", "APIResponse")  # by release
        assert raw.headers["content-encoding"] == "gzip"
        got = prediction(run)  # recorded before anything is parsed

    reply = raw.parse()
    assert got["outputs"] == reply.content[0].text  # type: ignore[union-attr]
    assert (got["response_model"], got["total_tokens"], got["stream"]) == (OPUS_3, 237, False)


def test_a_streamed_raw_response_records_the_stream_its_parse_gives(replay: Replay) -> None:
    server = replay("messages__test_anthropic_message_streaming_legacy")
    with tracklm.start_run() as run:
        raw = client(server).messages.with_raw_response.create(
            model=HAIKU_3, max_tokens=1024, messages=JOKE, stream=True
        )
        stream = raw.parse()
        assert isinstance(stream, anthropic.Stream)
        assert raw.parse() is stream
        pieces = [e.delta.text for e in stream if e.type == "content_block_delta"]

    got = prediction(run)
    assert got["outputs"] == "".join(pieces)
    assert (got["input_tokens"], got["output_tokens"], got["stream"]) == (17, 171, True)
    assert got["ttft_ms"] is not None


def test_a_streamed_raw_response_never_parsed_gives_one_row_when_dropped(
    server: LLMServer,
) -> None:
    server.queue_response(200, chunks=events("unread"))
    got = dropped_stream_row(
        lambda: client(server).messages.with_raw_response.create(
            model="m", max_tokens=5, messages=JOKE, stream=True
        ),
        lambda raw: raw.http_response.close(),
    )
    assert got["outputs"] is None


def test_an_async_raw_response_is_recorded(server: LLMServer) -> None:
    server.queue_response(200, message("async raw"))

    async def call() -> Any:
        async with aclient(server) as aio:
            return await aio.messages.with_raw_response.create(
                model="m", max_tokens=5, messages=JOKE
            )

    with tracklm.start_run() as run:
        raw = asyncio.run(call())

    assert raw.http_response.status_code == 200
    got = prediction(run)
    assert (got["outputs"], got["total_tokens"]) == ("async raw", 5)


@pytest.mark.parametrize("read", ["parse", "read", "text", "json"])
def test_a_streaming_response_is_recorded_from_what_the_caller_reads(
    server: LLMServer, read: str
) -> None:
    server.queue_response(200, message("lazy body", model="claude-lazy"))
    with tracklm.start_run() as run:
        with client(server).messages.with_streaming_response.create(
            model="m", max_tokens=5, messages=JOKE
        ) as response:
            assert isinstance(response, APIResponse)
            assert response.headers["content-type"] == "application/json"
            getattr(response, read)()
        assert response.is_closed

    got = prediction(run)
    assert (got["outputs"], got["response_model"], got["total_tokens"]) == (
        "lazy body",
        "claude-lazy",
        5,
    )
    assert (got["stream"], got["ttft_ms"]) == (False, None)


@pytest.mark.parametrize("iterate", ["iter_lines", "iter_bytes", "iter_text"])
def test_a_streamed_body_read_piece_by_piece_is_recorded_as_a_stream(
    server: LLMServer, iterate: str
) -> None:
    server.queue_response(200, chunks=events("piece", " by piece"))
    with (
        tracklm.start_run() as run,
        client(server).messages.with_streaming_response.create(
            model="m", max_tokens=5, messages=JOKE, stream=True
        ) as response,
    ):
        pieces = list(getattr(response, iterate)())

    assert any("message_stop" in (p if isinstance(p, str) else p.decode()) for p in pieces)
    got = prediction(run)
    assert (got["outputs"], got["stream"], got["input_tokens"]) == ("piece by piece", True, 3)
    assert (got["output_tokens"], got["finish_reason"]) == (5, "end_turn")
    assert got["ttft_ms"] is not None


def test_a_streaming_response_parsed_into_a_stream_records_the_stream(server: LLMServer) -> None:
    server.queue_response(200, chunks=events("a", " b"))
    messages = client(server).messages.with_streaming_response
    with (
        tracklm.start_run() as run,
        messages.create(model="m", max_tokens=5, messages=JOKE, stream=True) as response,
    ):
        stream = response.parse()
        assert isinstance(stream, anthropic.Stream)
        for _ in stream:
            break

    assert [(r["outputs"], r["stream"]) for r in predictions(run)] == [(None, True)]


def test_a_streaming_response_left_unread_gives_one_row(server: LLMServer) -> None:
    server.queue_response(200, message())
    messages = client(server).messages.with_streaming_response
    with tracklm.start_run() as run, messages.create(model="m", max_tokens=5, messages=JOKE):
        pass

    got = prediction(run)
    assert (got["outputs"], got["status"], got["stream"]) == (None, "ok", False)


def test_an_async_streaming_response_is_recorded(server: LLMServer) -> None:
    server.queue_response(200, message("one"))
    server.queue_response(200, chunks=events("two"))

    async def call() -> list[str]:
        async with aclient(server) as aio:
            messages = aio.messages.with_streaming_response
            async with messages.create(model="m", max_tokens=5, messages=JOKE) as response:
                assert isinstance(response, AsyncAPIResponse)
                await response.parse()
            async with messages.create(
                model="m", max_tokens=5, messages=JOKE, stream=True
            ) as response:
                return [line async for line in response.iter_lines()]

    with tracklm.start_run() as run:
        lines = asyncio.run(call())

    assert "event: message_stop" in lines
    assert [(r["outputs"], r["stream"]) for r in predictions(run)] == [
        ("one", False),
        ("two", True),
    ]
