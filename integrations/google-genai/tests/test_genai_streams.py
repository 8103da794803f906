"""Streams stay the SDK's own, and each gives exactly one row, however it is left."""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import Callable
from typing import Any

import pytest
import tracklm_google_genai._integration as integration
from google_support import (
    HAS_RESPONSE_ID,
    HAS_THOUGHTS_COUNT,
    MODEL,
    POEM,
    answer,
    client,
    recorded,
    usage,
)

import tracklm
from tracklm.integration import stream_call
from tracklm.testing import LLMServer, json_cell, prediction, predictions
from tracklm.testing.integration_checks import (
    LEAVE_UNFINISHED,
    dropped_stream_row,
    never_iterate,
)

Replay = Callable[..., LLMServer]
# a body cut short: the HTTP library's own error, as the SDK lets it through (httpx's or
# httpx2's RemoteProtocolError; requests' ChunkedEncodingError in google-genai 1.0)
CUT_SHORT = r"incomplete chunked read|Response ended prematurely"


def chunks(*texts: str, tokens: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A stream's chunks: one text each, the last with the finish reason and the usage."""
    last = len(texts) - 1
    return [
        answer(
            text,
            finish="STOP" if n == last else None,
            tokens=tokens if n == last else None,
            response_id="resp-stream-1",
        )
        for n, text in enumerate(texts)
    ]


def test_an_exhausted_stream_is_the_sdks_generator_and_its_row_has_text_usage_and_ttft(
    replay: Replay,
) -> None:
    server = replay(recorded("streaming", "sync"))
    with tracklm.start_run() as run:
        stream = client(server).models.generate_content_stream(model=MODEL, contents=POEM)
        assert inspect.isgenerator(stream)
        text = "".join(chunk.text or "" for chunk in stream)

    got = prediction(run)
    assert got["outputs"] == text
    assert text.startswith("When systems hum")
    assert text.endswith("shine so bright.")
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (8, 388, 2589)
    assert got["reasoning_tokens"] == (2193 if HAS_THOUGHTS_COUNT else None)
    assert (got["response_model"], got["finish_reason"]) == ("gemini-2.5-flash", "stop")
    assert got["response_id"] == ("vizpaJGEDvXZnvgPisGa2A0" if HAS_RESPONSE_ID else None)
    assert (got["operation"], got["stream"], got["status"]) == ("generate_content", True, "ok")
    assert 0 < got["ttft_ms"] <= got["latency_ms"]
    assert json_cell(got["inputs"]) == [{"role": "user", "content": POEM}]
    assert server.requests[0].query == {"alt": "sse"}
    assert tracklm.get_run(run.info.run_id).data.metrics["ttft_ms"] == pytest.approx(
        got["ttft_ms"], abs=1e-3
    )


def test_an_async_stream_is_the_sdks_async_iterator_and_is_recorded(replay: Replay) -> None:
    server = replay(recorded("streaming", "async"))

    async def call() -> str:
        stream = await client(server).aio.models.generate_content_stream(model=MODEL, contents=POEM)
        assert inspect.isasyncgen(stream)
        return "".join([chunk.text or "" async for chunk in stream])

    with tracklm.start_run() as run:
        text = asyncio.run(call())

    got = prediction(run)
    assert got["outputs"] == text
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (8, 257, 1522)
    assert (got["stream"], got["finish_reason"]) == (True, "stop")
    assert got["ttft_ms"] is not None


@pytest.mark.parametrize("leave", LEAVE_UNFINISHED)
def test_a_stream_dropped_unfinished_gives_exactly_one_row(
    server: LLMServer, leave: Callable[[Any], None]
) -> None:
    server.queue_response(200, chunks=chunks("one ", "two ", "three", tokens=usage(3, 3)))
    got = dropped_stream_row(
        lambda: client(server).models.generate_content_stream(model=MODEL, contents="count"),
        leave,
    )
    if leave is never_iterate:  # a sync stream's request is sent at its first next()
        assert (got["outputs"], got["ttft_ms"], len(server.requests)) == (None, None, 0)
    else:
        assert (got["outputs"], got["finish_reason"], got["input_tokens"]) == ("one ", None, None)
        assert got["ttft_ms"] is not None


def test_a_closed_stream_is_finished_at_once(server: LLMServer) -> None:
    server.queue_response(200, chunks=chunks("a ", "b ", "c"))
    with tracklm.start_run() as run:
        stream = client(server).models.generate_content_stream(model=MODEL, contents="abc")
        next(stream)
        stream.close()
        found = predictions(run)  # the stream is still referenced: no garbage collection needed

    assert [(r["outputs"], r["status"]) for r in found] == [("a ", "ok")]
    del stream
    gc.collect()
    assert len(predictions(run)) == 1


def test_a_stream_failing_midway_gives_an_error_row_with_the_text_so_far(
    server: LLMServer,
) -> None:
    server.queue_response(200, chunks=chunks("partial ", "partial ", "never"), cut_after=2)
    seen: list[str] = []
    with tracklm.start_run() as run:
        stream = client(server).models.generate_content_stream(model=MODEL, contents="go")
        with pytest.raises(Exception, match=CUT_SHORT) as raised:
            seen.extend(chunk.text or "" for chunk in stream)

    got = prediction(run)
    assert seen == ["partial ", "partial "]
    assert (got["status"], got["outputs"], got["response_id"]) == (
        "error",
        "partial partial ",
        "resp-stream-1" if HAS_RESPONSE_ID else None,
    )
    assert got["error"] == f"{type(raised.value).__name__}: {raised.value}"


def test_a_stream_cut_before_its_usage_has_unknown_not_zero_tokens(server: LLMServer) -> None:
    first = answer("half", finish=None, tokens={"trafficType": "ON_DEMAND"})
    server.queue_response(200, chunks=[first, first], cut_after=1)
    with tracklm.start_run() as run:
        stream = client(server).models.generate_content_stream(model=MODEL, contents="go")
        with pytest.raises(Exception, match=CUT_SHORT):
            list(stream)

    got = prediction(run)
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (None, None, None)
    assert "input_tokens" not in tracklm.get_run(run.info.run_id).data.metrics


def test_streamed_function_calls_are_gathered(server: LLMServer) -> None:
    call = {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}
    server.queue_response(
        200,
        chunks=[
            answer("Let me check. ", finish=None),
            answer(call, tokens=usage(10, 6)),
        ],
    )
    with tracklm.start_run() as run:
        list(client(server).models.generate_content_stream(model=MODEL, contents="Weather?"))

    got = prediction(run)
    assert json_cell(got["outputs"]) == {
        "content": "Let me check. ",
        "tool_calls": [{"id": None, "name": "get_weather", "arguments": {"city": "Oslo"}}],
    }
    assert (got["finish_reason"], got["total_tokens"]) == ("stop", 16)


def test_async_streams_broken_out_of_closed_or_never_read_give_one_row_each(
    server: LLMServer,
) -> None:
    server.queue_response(200, chunks=chunks("x ", "y ", "z"), times=3)

    async def calls() -> None:
        models = client(server).aio.models
        broken = await models.generate_content_stream(model=MODEL, contents="broken")
        async for _ in broken:
            break
        closed = await models.generate_content_stream(model=MODEL, contents="closed")
        await closed.aclose()
        unread = await models.generate_content_stream(model=MODEL, contents="unread")
        del broken, unread
        gc.collect()

    with tracklm.start_run() as run:
        asyncio.run(calls())

    found = predictions(run)  # steps in the order the calls finished
    outputs = {json_cell(r["inputs"])[0]["content"]: r["outputs"] for r in found}
    assert outputs == {"broken": "x ", "closed": None, "unread": None}
    assert len(found) == 3
    assert {(r["stream"], r["status"]) for r in found} == {(True, "ok")}


def test_plain_text_chunks_are_kept_as_their_text_and_the_row_is_the_same(
    server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_counts = {"trafficType": "ON_DEMAND"}
    prompt_counted = {"promptTokenCount": 10, "totalTokenCount": 10}  # as the Gemini API may
    body = [
        answer("One ", finish=None, tokens=no_counts),
        answer("two ", finish=None, tokens=no_counts),
        answer({"text": "Hmm. ", "thought": True}, finish=None),
        answer("three ", finish=None),
        answer("four ", "five ", finish=None),
        answer("six ", finish=None, response_id="resp-other"),
        answer("seven ", finish=None, response_id="resp-other"),
        answer("eight ", finish=None, response_id="resp-other", tokens=prompt_counted),
        answer("nine ", finish=None, response_id="resp-other", tokens=prompt_counted),
        answer("ten ", finish=None, response_id="resp-other", tokens=usage(10, 3)),
        answer({"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}),
        answer("", tokens=usage(10, 6)),
    ]

    def recorded_row() -> tuple[dict[str, Any], list[Any]]:
        server.queue_response(200, chunks=body)
        with tracklm.start_run() as run:
            stream = client(server).models.generate_content_stream(model=MODEL, contents="go")
            kept = stream_call(stream).chunks  # type: ignore[union-attr]
            list(stream)
        return prediction(run), kept

    row, kept = recorded_row()
    # text with the chunk before's model, response id and counts: the text; else the chunk
    plain = [False, True, False, True, False, not HAS_RESPONSE_ID, True, False, True, False]
    plain += [False, False]
    assert [type(chunk) is str for chunk in kept] == plain
    assert kept[1] == "two "

    monkeypatch.setattr(integration, "chunk_keeper", lambda: lambda chunk: chunk)
    whole_row, whole = recorded_row()
    assert not any(type(chunk) is str for chunk in whole)
    compared = ("outputs", "finish_reason", "input_tokens", "output_tokens", "total_tokens",
                "response_model", "response_id", "status")  # fmt: skip
    assert {k: row[k] for k in compared} == {k: whole_row[k] for k in compared}
    assert json_cell(row["outputs"])["content"] == (
        "One two three four five six seven eight nine ten "
    )
