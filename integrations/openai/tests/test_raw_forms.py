"""``with_raw_response`` and ``with_streaming_response``: the SDK's objects, recorded once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai._legacy_response import LegacyAPIResponse
from openai._response import APIResponse, AsyncAPIResponse
from openai_support import SAY_TEST, aclient, client, user

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions
from tracklm.testing.integration_checks import dropped_stream_row

Replay = Callable[..., LLMServer]


def test_a_raw_response_is_the_sdks_own_object_and_is_recorded_at_once(replay: Replay) -> None:
    server = replay("test_chat_completion_with_raw_response")
    with tracklm.start_run() as run:
        raw = client(server).chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=SAY_TEST
        )
        assert type(raw) is LegacyAPIResponse
        assert raw.headers["content-type"] == "application/json"
        got = prediction(run)  # recorded before anything is parsed

    assert raw.parse().choices[0].message.content == got["outputs"] == "This is a test."
    assert (got["response_model"], got["total_tokens"], got["stream"]) == (
        "gpt-4o-mini-2024-07-18",
        17,
        False,
    )


def test_a_streamed_raw_response_records_the_stream_its_parse_gives(replay: Replay) -> None:
    server = replay("test_chat_completion_with_raw_response_streaming")
    with tracklm.start_run() as run:
        raw = client(server).chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=SAY_TEST,
            stream=True,
            stream_options={"include_usage": True},
        )
        assert isinstance(raw, LegacyAPIResponse)
        stream = raw.parse()
        assert isinstance(stream, openai.Stream)
        assert raw.parse() is stream
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    got = prediction(run)
    assert got["outputs"] == text == "This is a test. How can I assist you today?"
    assert (got["input_tokens"], got["output_tokens"], got["stream"]) == (12, 12, True)
    assert got["ttft_ms"] is not None


def test_a_streamed_raw_response_never_parsed_gives_one_row_when_dropped(
    server: LLMServer,
) -> None:
    got = dropped_stream_row(
        lambda: client(server).chat.completions.with_raw_response.create(
            model="m", messages=user("hi"), stream=True
        ),
        lambda raw: raw.http_response.close(),
    )
    assert got["outputs"] is None


def test_an_async_raw_response_is_recorded(server: LLMServer) -> None:
    async def call() -> Any:
        async with aclient(server) as aio:
            return await aio.embeddings.with_raw_response.create(model="e", input=["a", "b"])

    with tracklm.start_run() as run:
        raw = asyncio.run(call())

    assert len(raw.parse().data) == 2
    got = prediction(run)
    assert (got["operation"], json_cell(got["outputs"])) == (
        "embedding",
        {"embeddings": 2, "dimensions": None},  # base64 vectors: the body is as sent
    )


@pytest.mark.parametrize("read", ["parse", "read", "text", "json"])
def test_a_streaming_response_is_recorded_from_what_the_caller_reads(
    server: LLMServer, read: str
) -> None:
    with tracklm.start_run() as run:
        with client(server).chat.completions.with_streaming_response.create(
            model="m", messages=user("hi")
        ) as response:
            assert isinstance(response, APIResponse)
            assert response.headers["content-type"] == "application/json"
            getattr(response, read)()
        assert response.is_closed

    got = prediction(run)
    assert (got["outputs"], got["response_model"], got["total_tokens"]) == ("echo: hi", "m", 3)
    assert (got["stream"], got["ttft_ms"]) == (False, None)


@pytest.mark.parametrize("iterate", ["iter_lines", "iter_bytes", "iter_text"])
def test_a_streamed_body_read_piece_by_piece_is_recorded_as_a_stream(
    server: LLMServer, iterate: str
) -> None:
    chat = client(server).chat.completions.with_streaming_response
    with (
        tracklm.start_run() as run,
        chat.create(
            model="m", messages=user("a b"), stream=True, stream_options={"include_usage": True}
        ) as response,
    ):
        pieces = list(getattr(response, iterate)())

    assert any("[DONE]" in (p if isinstance(p, str) else p.decode()) for p in pieces)
    got = prediction(run)
    assert (got["outputs"], got["stream"], got["input_tokens"]) == ("echo: a b", True, 2)
    assert got["ttft_ms"] is not None


def test_a_streaming_response_parsed_into_a_stream_records_the_stream(server: LLMServer) -> None:
    chat = client(server).chat.completions.with_streaming_response
    with (
        tracklm.start_run() as run,
        chat.create(model="m", messages=user("c d"), stream=True) as response,
    ):
        stream = response.parse()
        assert isinstance(stream, openai.Stream)
        for _ in stream:
            break

    assert [(r["outputs"], r["stream"]) for r in predictions(run)] == [(None, True)]


def test_a_streaming_response_left_unread_gives_one_row(server: LLMServer) -> None:
    completions = client(server).completions.with_streaming_response
    with tracklm.start_run() as run, completions.create(model="i", prompt="x"):
        pass

    got = prediction(run)
    assert (got["operation"], got["outputs"], got["status"]) == ("completion", None, "ok")


def test_an_async_streaming_response_is_recorded(server: LLMServer) -> None:
    async def call() -> list[str]:
        async with aclient(server) as aio:
            chat = aio.chat.completions.with_streaming_response
            async with chat.create(model="m", messages=user("one")) as response:
                assert isinstance(response, AsyncAPIResponse)
                await response.parse()
            async with chat.create(model="m", messages=user("two"), stream=True) as response:
                return [line async for line in response.iter_lines()]

    with tracklm.start_run() as run:
        lines = asyncio.run(call())

    assert "data: [DONE]" in lines
    assert [(r["outputs"], r["stream"]) for r in predictions(run)] == [
        ("echo: one", False),
        ("echo: two", True),
    ]
