"""Streams stay the SDK's own, and each gives exactly one row, however it is left."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionChunk
from openai_support import SAY_TEST, WEATHER_TOOL, aclient, client, user
from tracklm_openai._responses import read_chunks

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions
from tracklm.testing.integration_checks import (
    LEAVE_UNFINISHED,
    dropped_stream_row,
    left_and_closed_stream_rows,
    never_iterate,
)

Replay = Callable[..., LLMServer]
INCLUDE_USAGE: Any = {"include_usage": True}


def test_an_exhausted_stream_is_the_sdks_and_its_row_has_text_usage_and_ttft(
    replay: Replay,
) -> None:
    server = replay("test_chat_completion_streaming")
    with tracklm.start_run() as run:
        stream = client(server).chat.completions.create(
            model="gpt-4", messages=SAY_TEST, stream=True, stream_options=INCLUDE_USAGE
        )
        assert type(stream) is openai.Stream  # the SDK's own object, not a proxy
        assert stream.response.status_code == 200
        with stream as entered:
            text = "".join(c.choices[0].delta.content or "" for c in entered if c.choices)

    got = prediction(run)
    assert got["outputs"] == text == '"This is a test."'
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (12, 5, 17)
    assert (got["response_model"], got["finish_reason"]) == ("gpt-4-0613", "stop")
    assert (got["stream"], got["status"]) == (True, "ok")
    assert 0 < got["ttft_ms"] <= got["latency_ms"]
    assert json_cell(got["params"]) == {"model": "gpt-4", "stream_options": {"include_usage": True}}
    assert tracklm.get_run(run.info.run_id).data.metrics["ttft_ms"] == pytest.approx(
        got["ttft_ms"], abs=1e-3
    )


def test_a_stream_without_a_usage_chunk_has_unknown_not_zero_tokens(replay: Replay) -> None:
    server = replay("test_chat_completion_streaming_not_complete")
    with tracklm.start_run() as run:
        for _ in client(server).chat.completions.create(
            model="gpt-4", messages=SAY_TEST, stream=True
        ):
            pass

    got = prediction(run)
    assert got["outputs"] == "This is a test."
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (None, None, None)
    assert "input_tokens" not in tracklm.get_run(run.info.run_id).data.metrics


def test_the_chunks_read_are_not_kept_alive_while_the_stream_goes_on(replay: Replay) -> None:
    # kept until the stream ends, parsed chunks would make the garbage collector run during
    # the app's calls; the row is read from the raw body instead
    server = replay("test_chat_completion_streaming")
    with tracklm.start_run() as run:
        stream = client(server).chat.completions.create(
            model="gpt-4", messages=SAY_TEST, stream=True, stream_options=INCLUDE_USAGE
        )
        chunks = iter(stream)
        read = [next(chunks) for _ in range(3)]
        text, stream_id = "".join(c.choices[0].delta.content or "" for c in read), read[0].id
        del read
        gc.collect()
        # type(), not isinstance(): that reads __class__, which loads the SDK's lazy module client
        alive = [o for o in gc.get_objects() if type(o) is ChatCompletionChunk]
        # the SDK's own Stream.__iter__ holds the last chunk it yielded; none of the others
        assert len([o for o in alive if o.id == stream_id]) <= 1
        text += "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    got = prediction(run)
    assert got["outputs"] == text == '"This is a test."'
    assert (got["total_tokens"], got["finish_reason"]) == (17, "stop")


def test_a_character_cut_between_two_pieces_of_the_raw_body_is_read_whole() -> None:
    body = 'data: {"choices": [{"index": 0, "delta": {"content": "caf\u00e9 \U0001f600"}}]}\n\n'
    raw = body.encode()
    cut = raw.index("\U0001f600".encode()) + 1
    got = read_chunks("chat", [raw[:cut], raw[cut:]])
    assert got.outputs == "caf\u00e9 \U0001f600"


def test_streamed_tool_calls_are_assembled_into_json(replay: Replay) -> None:
    server = replay("test_chat_completion_multiple_tools_streaming_no_content")
    with tracklm.start_run() as run:
        stream = client(server).chat.completions.create(
            model="gpt-4o-mini",
            messages=user("weather?"),
            tools=[WEATHER_TOOL],
            stream=True,
            stream_options=INCLUDE_USAGE,
        )
        list(stream)

    got = prediction(run)
    assert json_cell(got["outputs"]) == {
        "tool_calls": [
            {
                "id": "call_j7L00WV19wwQCvKOIVZewXZm",
                "name": "get_current_weather",
                "arguments": {"location": "Seattle, WA"},
            },
            {
                "id": "call_sAIOI3dvcd1YMsEqD8DI3l8B",
                "name": "get_current_weather",
                "arguments": {"location": "San Francisco, CA"},
            },
        ]
    }
    assert (got["finish_reason"], got["total_tokens"]) == ("tool_calls", 126)


@pytest.mark.parametrize("leave", LEAVE_UNFINISHED)
def test_a_stream_dropped_unfinished_gives_exactly_one_row(
    server: LLMServer, leave: Callable[[Any], None]
) -> None:
    got = dropped_stream_row(
        lambda: client(server).chat.completions.create(
            model="m", messages=user("one two three"), stream=True
        ),
        leave,
    )
    if leave is never_iterate:
        assert (got["outputs"], got["ttft_ms"]) == (None, None)
    else:
        assert got["ttft_ms"] is not None


def _read_two_chunks(stream: Any) -> None:
    chunks = iter(stream)
    next(chunks)
    next(chunks)


def test_a_stream_left_by_with_or_closed_is_finished_at_once(server: LLMServer) -> None:
    chat = client(server).chat.completions
    # each stream reads the role, then "echo:"
    found = left_and_closed_stream_rows(
        lambda: chat.create(model="m", messages=user("a b c"), stream=True), _read_two_chunks
    )
    assert [r["outputs"] for r in found] == ["echo:", "echo:"]


def test_a_stream_failing_midway_gives_an_error_row_with_the_text_so_far(
    server: LLMServer,
) -> None:
    chunk = {
        "id": "chatcmpl-cut",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m-1",
        "choices": [{"index": 0, "delta": {"content": "partial"}, "finish_reason": None}],
    }
    server.queue_response(200, chunks=[chunk, chunk, chunk], cut_after=2)
    seen: list[str] = []
    with tracklm.start_run() as run:
        stream = client(server).chat.completions.create(model="m", messages=SAY_TEST, stream=True)
        # httpx's RemoteProtocolError, or the SDK's APIConnectionError around it (by release)
        with pytest.raises(Exception, match=r"incomplete chunked read|Connection error") as raised:
            seen.extend(c.choices[0].delta.content or "" for c in stream)

    got = prediction(run)
    assert (got["status"], got["outputs"], got["response_model"]) == ("error", "partial" * 2, "m-1")
    assert got["error"] == f"{type(raised.value).__name__}: {raised.value}"
    assert seen == ["partial", "partial"]


def test_an_async_stream_is_recorded_and_stays_an_async_stream(replay: Replay) -> None:
    server = replay("test_async_chat_completion_streaming")

    async def call() -> str:
        async with aclient(server) as aio:
            stream = await aio.chat.completions.create(
                model="gpt-4", messages=SAY_TEST, stream=True, stream_options=INCLUDE_USAGE
            )
            assert type(stream) is openai.AsyncStream
            async with stream:
                return "".join(
                    [c.choices[0].delta.content or "" async for c in stream if c.choices]
                )

    with tracklm.start_run() as run:
        text = asyncio.run(call())

    got = prediction(run)
    assert got["outputs"] == text == "This is a test."
    assert (got["total_tokens"], got["stream"]) == (17, True)
    assert got["ttft_ms"] is not None


def test_async_streams_broken_out_of_closed_or_never_read_give_one_row_each(
    server: LLMServer,
) -> None:
    async def calls() -> None:
        async with aclient(server) as aio:
            chat = aio.chat.completions
            broken = await chat.create(model="m", messages=user("a b"), stream=True)
            async for chunk in broken:
                if chunk.choices[0].delta.content:
                    break
            closed = await chat.create(model="m", messages=user("c d"), stream=True)
            await closed.close()
            unread = await chat.create(model="m", messages=user("e f"), stream=True)
            del broken, unread
            gc.collect()

    with tracklm.start_run() as run:
        asyncio.run(calls())

    found = predictions(run)  # steps in the order the calls finished
    outputs = {json_cell(r["inputs"])[0]["content"]: r["outputs"] for r in found}
    assert outputs == {"a b": "echo:", "c d": None, "e f": None}
    assert len(found) == 3


def test_completion_streams_sync_and_async_accumulate_their_text(server: LLMServer) -> None:
    async def call_async() -> str:
        async with aclient(server) as aio:
            stream = await aio.completions.create(model="i", prompt="async words", stream=True)
            return "".join([c.choices[0].text async for c in stream])

    with tracklm.start_run() as run:
        stream = client(server).completions.create(model="i", prompt="x y z", stream=True)
        texts = ["".join(c.choices[0].text for c in stream), asyncio.run(call_async())]

    got = predictions(run)
    assert [(r["operation"], r["outputs"], r["stream"]) for r in got] == [
        ("completion", texts[0], True),
        ("completion", texts[1], True),
    ]
    assert texts[1] == "echo: async words"
