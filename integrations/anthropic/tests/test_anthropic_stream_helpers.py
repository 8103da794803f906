"""The ``messages.stream()`` helpers, sync and async: their methods keep working, one row per
call, finished when the helper's ``with`` block ends."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from anthropic_support import HAIKU_35, JOKE, VERSION, Replay, aclient, client, error, events, user

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions

HELLO = user("Say hello there!")


def test_text_stream_gives_the_text_and_one_row(replay: Replay) -> None:
    server = replay("messages__test_anthropic_text_stream_helper_method_legacy")
    with (
        tracklm.start_run() as run,
        client(server).messages.stream(
            model=HAIKU_35, max_tokens=1024, messages=HELLO, extra_body={"temperature": 0.3}
        ) as stream,
    ):
        assert isinstance(stream, anthropic.MessageStream)
        text = "".join(stream.text_stream)

    got = prediction(run)
    assert got["outputs"] == text == "Hello there!"
    assert (got["response_id"], got["finish_reason"]) == (
        "msg_015gfMD3dPMTLGst8hsmvWJw",
        "end_turn",
    )
    assert (got["stream"], got["input_tokens"], got["output_tokens"]) == (True, 11, 6)
    assert got["ttft_ms"] is not None
    assert json_cell(got["params"]) == {"model": HAIKU_35, "max_tokens": 1024, "temperature": 0.3}


def test_until_done_and_the_final_message_helpers_keep_working(replay: Replay) -> None:
    server = replay("messages__test_anthropic_sync_streaming_helper_methods_legacy")
    with tracklm.start_run() as run:
        with client(server).messages.stream(
            model=HAIKU_35, max_tokens=1024, messages=HELLO
        ) as stream:
            stream.until_done()
            final = stream.get_final_message()
            final_text = stream.get_final_text()
        found = predictions(run)  # finished, though `stream` is still referenced

    (got,) = found
    assert got["outputs"] == final_text == final.content[0].text  # type: ignore[union-attr]
    assert got["response_id"] == final.id
    assert (got["input_tokens"], got["output_tokens"]) == (
        final.usage.input_tokens,
        final.usage.output_tokens,
    )


def test_iterating_the_helpers_events_records_the_streamed_message(replay: Replay) -> None:
    server = replay("messages__test_anthropic_message_stream_manager_legacy")
    with (
        tracklm.start_run() as run,
        client(server).messages.stream(model=HAIKU_35, max_tokens=1024, messages=JOKE) as stream,
    ):
        kinds = {event.type for event in stream}

    assert {"text", "message_stop"} <= kinds
    got = prediction(run)
    assert got["outputs"].startswith("Here's a joke about OpenTelemetry:")
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (17, 108, 125)


def test_a_helper_left_early_is_finished_when_its_with_block_ends(server: LLMServer) -> None:
    server.queue_response(200, chunks=events("first", " second", " third"))
    with tracklm.start_run() as run:
        with client(server).messages.stream(model="m", max_tokens=5, messages=JOKE) as stream:
            for event in stream:
                if event.type == "text":
                    break
        found = predictions(run)

    assert [(r["outputs"], r["stream"], r["status"]) for r in found] == [("first", True, "ok")]
    assert stream.response.is_closed


def test_a_helper_never_entered_makes_no_call_and_no_row(server: LLMServer) -> None:
    with tracklm.start_run() as run:
        client(server).messages.stream(model="m", max_tokens=5, messages=JOKE)

    assert server.requests == []
    assert tracklm.flush(timeout=30).ok
    assert tracklm.get_run(run.info.run_id).data.metrics == {}


def test_a_helper_whose_request_fails_raises_the_sdks_error_and_records_it(
    server: LLMServer,
) -> None:
    server.queue_response(400, error("invalid_request_error", "max_tokens: too large"))
    with (
        tracklm.start_run() as run,
        pytest.raises(anthropic.BadRequestError, match="too large") as raised,
        client(server).messages.stream(model="m", max_tokens=10**9, messages=JOKE),
    ):
        pass

    got = prediction(run)
    assert (got["status"], got["stream"], got["model"]) == ("error", True, "m")
    assert got["error"] == f"BadRequestError: {raised.value}"


def test_the_async_helper_gives_one_row_with_the_final_message(replay: Replay) -> None:
    server = replay("messages__test_async_anthropic_message_stream_manager_legacy")

    async def call() -> Any:
        async with (
            aclient(server) as aio,
            aio.messages.stream(model=HAIKU_35, max_tokens=1024, messages=JOKE) as stream,
        ):
            assert isinstance(stream, anthropic.AsyncMessageStream)
            return await stream.get_final_message()

    with tracklm.start_run() as run:
        final = asyncio.run(call())

    got = prediction(run)
    assert got["outputs"] == final.content[0].text
    assert (got["response_id"], got["output_tokens"]) == ("msg_01E414PCSTg6skd6JWPTX5Uc", 79)


def test_an_async_helper_left_early_gives_one_row(server: LLMServer) -> None:
    server.queue_response(200, chunks=events("x", " y"))
    server.queue_response(200, chunks=events("z"))

    async def call() -> None:
        async with aclient(server) as aio:
            async with aio.messages.stream(model="m", max_tokens=5, messages=JOKE) as stream:
                async for text in stream.text_stream:
                    assert text == "x"
                    break
            async with aio.messages.stream(model="m", max_tokens=5, messages=JOKE) as stream:
                await stream.until_done()

    with tracklm.start_run() as run:
        asyncio.run(call())

    assert [(r["outputs"], r["stream"]) for r in predictions(run)] == [("x", True), ("z", True)]


def _beta_messages(aio: anthropic.AsyncAnthropic) -> Any:
    """Where this release's beta stream helper is: ``beta.messages`` (0.43 on), or
    ``beta.prompt_caching.messages`` (0.31 to 0.4x, old-style), or None."""
    beta = getattr(aio, "beta", None)
    for found in (
        getattr(beta, "messages", None),
        getattr(getattr(beta, "prompt_caching", None), "messages", None),
    ):
        if hasattr(found, "stream"):
            return found
    return None


@pytest.mark.skipif(
    _beta_messages(anthropic.AsyncAnthropic(api_key="k")) is None,
    reason=f"anthropic {VERSION} has no beta stream helper",
)
def test_the_async_beta_helper_is_recorded_too(replay: Replay) -> None:
    server = replay("messages__test_async_anthropic_beta_message_stream_manager_legacy")

    async def call() -> str:
        async with (
            aclient(server) as aio,
            _beta_messages(aio).stream(model=HAIKU_35, max_tokens=1024, messages=JOKE) as stream,
        ):
            return "".join([text async for text in stream.text_stream])

    with tracklm.start_run() as run:
        text = asyncio.run(call())

    got = prediction(run)
    assert got["outputs"] == text
    assert text.startswith("Why did the developer love OpenTelemetry?")
    assert (got["response_id"], got["total_tokens"]) == ("msg_01BetaStreamTest1234567", 17 + 20)
    assert server.requests[0].path == "/v1/messages"
