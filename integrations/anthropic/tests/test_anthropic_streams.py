"""``messages.create(stream=True)``: the SDK's own stream, one row however it is left, built
from the raw events."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

import anthropic
import pytest
from anthropic_support import (
    HAIKU_3,
    JOKE,
    SONNET_35,
    SONNET_37,
    Replay,
    aclient,
    client,
    events,
    sse,
    user,
)

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions
from tracklm.testing.integration_checks import (
    LEAVE_UNFINISHED,
    dropped_stream_row,
    left_and_closed_stream_rows,
    never_iterate,
)


def _text(events: Any) -> str:
    return "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )


def test_an_exhausted_stream_is_the_sdks_and_its_row_has_text_usage_and_ttft(
    replay: Replay,
) -> None:
    server = replay("messages__test_anthropic_message_streaming_legacy")
    with tracklm.start_run() as run:
        stream = client(server).messages.create(
            model=HAIKU_3, max_tokens=1024, messages=JOKE, stream=True
        )
        assert type(stream) is anthropic.Stream  # the SDK's own object, not a proxy
        assert isinstance(stream, anthropic.Stream)
        assert stream.response.status_code == 200
        with stream as entered:
            text = _text(entered)

    got = prediction(run)
    assert got["outputs"] == text
    assert text.startswith("Here's an OpenTelemetry-themed joke for you:")
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (17, 171, 188)
    assert (got["response_model"], got["response_id"]) == (HAIKU_3, "msg_01MXWxhWoPSgrYhjTuMDM6F1")
    assert (got["finish_reason"], got["stream"], got["status"]) == ("end_turn", True, "ok")
    assert 0 < got["ttft_ms"] <= got["latency_ms"]
    assert json_cell(got["params"]) == {"model": HAIKU_3, "max_tokens": 1024}
    metrics = tracklm.get_run(run.info.run_id).data.metrics
    assert metrics["ttft_ms"] == pytest.approx(got["ttft_ms"], abs=1e-3)


def _events_alive() -> int:
    return sum(type(o).__name__.startswith("Raw") for o in gc.get_objects())


def test_the_events_read_are_not_kept_alive_while_the_stream_goes_on(replay: Replay) -> None:
    # kept until the stream ends, parsed events would make the garbage collector run during
    # the app's calls; the row is read from the raw body instead
    server = replay("messages__test_anthropic_message_streaming_legacy")
    with tracklm.start_run() as run:
        stream = client(server).messages.create(
            model=HAIKU_3, max_tokens=1024, messages=JOKE, stream=True
        )
        gc.collect()
        before = _events_alive()
        read = iter(stream)
        text = _text(next(read) for _ in range(5))
        gc.collect()
        assert _events_alive() - before <= 1  # the last one, held by the SDK's own iterator
        text += _text(read)

    got = prediction(run)
    assert got["outputs"] == text
    assert got["output_tokens"] is not None


def test_streamed_tool_use_is_assembled_from_its_json_pieces(replay: Replay) -> None:
    server = replay("messages__test_anthropic_tools_streaming_legacy")
    with tracklm.start_run() as run:
        stream = client(server).messages.create(
            model=SONNET_35,
            max_tokens=1024,
            messages=user("What is the weather and current time in San Francisco?"),
            tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
            stream=True,
        )
        list(stream)

    got = prediction(run)
    outputs = json_cell(got["outputs"])
    assert outputs["content"].startswith("Certainly! I can help you with that information.")
    assert outputs["tool_calls"] == [
        {
            "id": "toolu_014x5X91kx3fvdhpLvwXZWE2",
            "name": "get_weather",
            "arguments": {"location": "San Francisco, CA", "unit": "celsius"},
        },
        {
            "id": "toolu_0121kXsENLvoDZ72LCuAnCCz",
            "name": "get_time",
            "arguments": {"timezone": "America/Los_Angeles"},
        },
    ]
    assert (got["finish_reason"], got["output_tokens"]) == ("tool_use", 153)


def test_streamed_thinking_is_kept_apart_from_the_answer(replay: Replay) -> None:
    server = replay("thinking__test_anthropic_thinking_streaming_legacy")
    with tracklm.start_run() as run:
        stream = client(server).messages.create(
            model=SONNET_37,
            max_tokens=2048,
            messages=user("How many times does the letter 'r' appear in the word strawberry?"),
            stream=True,
            extra_body={"thinking": {"type": "enabled", "budget_tokens": 1024}},
        )
        for _ in stream:
            pass

    got = prediction(run)
    outputs = json_cell(got["outputs"])
    assert outputs["content"] == "The letter 'r' appears 3 times in the word \"strawberry\"."
    assert outputs["thinking"].startswith("Let me count the occurrences of the letter 'r'")
    assert outputs["thinking"].endswith(
        "So the letter 'r' appears 3 times in the word \"strawberry\"."
    )
    assert (got["output_tokens"], got["total_tokens"]) == (216, 52 + 216)
    assert json_cell(got["params"])["thinking_budget_tokens"] == 1024


def test_a_streamed_prompt_cache_hit_counts_in_the_input_tokens(replay: Replay) -> None:
    server = replay("prompt_caching__test_anthropic_prompt_caching_stream_legacy")
    with tracklm.start_run() as run:
        for _ in range(2):
            list(
                client(server).messages.create(
                    model=SONNET_35, max_tokens=1024, messages=JOKE, stream=True
                )
            )

    written, read = predictions(run)
    assert [written["input_tokens"], written["cached_input_tokens"]] == [4 + 1165, 0]
    assert [read["input_tokens"], read["cached_input_tokens"]] == [4 + 1165, 1165]
    assert (written["output_tokens"], read["output_tokens"]) == (201, 221)


@pytest.mark.parametrize("leave", LEAVE_UNFINISHED)
def test_a_stream_dropped_unfinished_gives_exactly_one_row(
    server: LLMServer, leave: Callable[[Any], None]
) -> None:
    server.queue_response(200, chunks=events("one", " two"))
    got = dropped_stream_row(
        lambda: client(server).messages.create(model="m", max_tokens=5, messages=JOKE, stream=True),
        leave,
    )
    assert got["outputs"] is None
    if leave is never_iterate:
        assert (got["ttft_ms"], got["response_model"]) == (None, None)
    else:  # message_start was read: its model, id and input tokens are known
        assert (got["ttft_ms"] is not None, got["response_model"]) == (True, "claude-test")
        # no message_delta: the output count is unknown (not message_start's placeholder)
        assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (3, None, None)


def _read_three_events(stream: Any) -> None:
    events = iter(stream)
    for _ in range(3):
        next(events)


def test_a_stream_left_by_with_or_closed_is_finished_at_once(server: LLMServer) -> None:
    server.queue_response(200, chunks=events("a", " b", " c"), times=2)
    messages = client(server).messages
    # each stream reads message_start, content_block_start, "a"
    found = left_and_closed_stream_rows(
        lambda: messages.create(model="m", max_tokens=5, messages=JOKE, stream=True),
        _read_three_events,
    )
    assert [r["outputs"] for r in found] == ["a", "a"]


def test_a_stream_failing_midway_gives_an_error_row_with_the_text_so_far(
    server: LLMServer,
) -> None:
    server.queue_response(200, chunks=events("partial", " text", " lost"), cut_after=4)
    seen: list[str] = []
    with tracklm.start_run() as run:
        stream = client(server).messages.create(model="m", max_tokens=5, messages=JOKE, stream=True)
        # httpx's RemoteProtocolError, or the SDK's APIConnectionError around it (by release)
        with pytest.raises(Exception, match=r"incomplete chunked read|peer closed") as raised:
            seen.extend(e.type for e in stream)

    got = prediction(run)
    assert (got["status"], got["outputs"], got["response_model"]) == (
        "error",
        "partial text",
        "claude-test",
    )
    assert got["error"] == f"{type(raised.value).__name__}: {raised.value}"
    assert seen == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
    ]


def test_an_error_event_midway_is_the_sdks_error_and_the_rows(server: LLMServer) -> None:
    overloaded = {"error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.queue_response(200, chunks=[*events("so far", end=False), *sse([("error", overloaded)])])
    with tracklm.start_run() as run:
        stream = client(server).messages.create(model="m", max_tokens=5, messages=JOKE, stream=True)
        with pytest.raises(anthropic.APIStatusError, match="Overloaded") as raised:
            list(stream)

    got = prediction(run)
    assert (got["status"], got["outputs"]) == ("error", "so far")
    assert got["error"] == f"{type(raised.value).__name__}: {raised.value}"


def test_an_async_stream_is_recorded_and_stays_an_async_stream(replay: Replay) -> None:
    server = replay("messages__test_async_anthropic_message_streaming_legacy")

    async def call() -> str:
        async with aclient(server) as aio:
            stream = await aio.messages.create(
                model=HAIKU_3, max_tokens=1024, messages=JOKE, stream=True
            )
            assert type(stream) is anthropic.AsyncStream
            assert isinstance(stream, anthropic.AsyncStream)
            async with stream:
                return _text([e async for e in stream])

    with tracklm.start_run() as run:
        text = asyncio.run(call())

    got = prediction(run)
    assert got["outputs"] == text != ""
    assert (got["stream"], got["finish_reason"], got["status"]) == (True, "end_turn", "ok")
    assert got["ttft_ms"] is not None
    assert got["total_tokens"] == got["input_tokens"] + got["output_tokens"]


def test_async_streams_broken_out_of_closed_or_never_read_give_one_row_each(
    server: LLMServer,
) -> None:
    server.queue_response(200, chunks=events("x", " y"), times=3)

    async def calls() -> None:
        async with aclient(server) as aio:
            messages = aio.messages
            broken = await messages.create(model="m", max_tokens=5, messages=JOKE, stream=True)
            async for event in broken:
                if event.type == "content_block_delta":
                    break
            closed = await messages.create(model="m", max_tokens=5, messages=JOKE, stream=True)
            await closed.close()
            unread = await messages.create(model="m", max_tokens=5, messages=JOKE, stream=True)
            del broken, unread
            gc.collect()

    with tracklm.start_run() as run:
        asyncio.run(calls())

    found = [(r["outputs"], r["status"]) for r in predictions(run)]  # in the order they ended
    assert sorted(found, key=repr) == [("x", "ok"), (None, "ok"), (None, "ok")]
