"""A failing server: the app sees the same results and exceptions with and without tracklm,
as soon, and each call that returned or raised has one row saying what happened."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest

from tracklm.testing import LLMServer

from ._app import API_KEY, client, rows, user, with_and_without_tracklm

FAST_RETRY = {"retry-after-ms": "1"}
OVERLOADED = {"error": {"message": "overloaded", "type": "server_error", "code": None}}
SLOW_DOWN = {"error": {"message": "slow down", "type": "rate_limit_error", "code": None}}
DELAY = 1.0
"""Seconds a slow server waits before its first byte."""
TRACKLM_BUDGET = 0.5
"""Seconds tracklm may add to a call, at most, on a loaded machine (it adds microseconds)."""


def chunk(content: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-cut",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-big",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


def chat(server: LLMServer, retries: int = 0) -> Any:
    return client(server, max_retries=retries).chat.completions.create(
        model="m", messages=user("hi")
    )


def read_stream(server: LLMServer) -> Any:
    """The chunks' texts the app read before the stream ended or broke, and how it ended."""
    seen: list[str | None] = []
    stream = client(server).chat.completions.create(model="m", messages=user("hi"), stream=True)
    try:
        for piece in stream:
            seen.append(piece.choices[0].delta.content if piece.choices else None)
    except openai.APIError as exc:
        return seen, type(exc).__name__
    return seen, None


def test_a_stream_cut_midway_breaks_the_same_way_and_its_row_keeps_the_text_read() -> None:
    def fault(server: LLMServer) -> None:
        events = [chunk("one"), chunk(" two"), chunk(" three", "stop"), "data: [DONE]\n\n"]
        server.queue_response(chunks=events, cut_after=2)

    without, with_ = with_and_without_tracklm(read_stream, fault)

    assert (with_.value, with_.error, with_.requests) == (without.value, None, 1)
    assert with_.value == [["one", " two"], "APIConnectionError"]
    (row,) = rows()
    assert (row["status"], row["outputs"], row["stream"]) == ("error", "one two", True)
    assert row["error"].startswith("APIConnectionError")
    assert row["finish_reason"] is None


@pytest.mark.parametrize(
    ("status", "body", "sdk_error"),
    [(500, OVERLOADED, "InternalServerError"), (429, SLOW_DOWN, "RateLimitError")],
)
def test_a_call_the_sdk_retries_to_success_gives_one_ok_row(
    status: int, body: dict[str, Any], sdk_error: str
) -> None:
    def fault(server: LLMServer) -> None:
        server.queue_response(status, body, headers=FAST_RETRY, times=2)

    without, with_ = with_and_without_tracklm(lambda s: chat(s, retries=2), fault)

    assert (with_.value, with_.error, with_.requests) == (without.value, None, 3)
    (row,) = rows()  # one call, one row, however many attempts
    assert (row["status"], row["outputs"], row["error"]) == ("ok", "echo: hi", None)


@pytest.mark.parametrize(
    ("status", "body", "sdk_error"),
    [(500, OVERLOADED, openai.InternalServerError), (429, SLOW_DOWN, openai.RateLimitError)],
)
def test_a_call_whose_retries_run_out_raises_the_same_error_and_gives_an_error_row(
    status: int, body: dict[str, Any], sdk_error: type[Exception]
) -> None:
    def fault(server: LLMServer) -> None:
        server.queue_response(status, body, headers=FAST_RETRY, times=3)

    without, with_ = with_and_without_tracklm(lambda s: chat(s, retries=2), fault)

    assert (with_.error, with_.requests) == (without.error, 3)
    assert with_.error is not None
    assert with_.error[0] is sdk_error
    (row,) = rows()
    assert row["status"] == "error"
    assert row["error"] == f"{sdk_error.__name__}: {with_.error[1]}"
    assert row["outputs"] is None


def test_malformed_json_raises_the_same_error_and_gives_an_error_row() -> None:
    def fault(server: LLMServer) -> None:
        server.queue_response(200, '{"id": "chatcmpl-1", "choices": [')

    without, with_ = with_and_without_tracklm(chat, fault)

    assert with_.error == without.error
    assert with_.error is not None
    (row,) = rows()
    assert row["status"] == "error"
    assert row["error"].startswith(with_.error[0].__name__)


def test_a_malformed_event_in_a_stream_breaks_it_the_same_way() -> None:
    def fault(server: LLMServer) -> None:
        server.queue_response(chunks=[chunk("ok"), "data: {not json\n\n", "data: [DONE]\n\n"])

    def read(server: LLMServer) -> Any:
        seen = []
        for piece in client(server).chat.completions.create(
            model="m", messages=user("hi"), stream=True
        ):
            seen.append(piece.choices[0].delta.content)
        return seen

    without, with_ = with_and_without_tracklm(read, fault)

    assert (with_.value, with_.error) == (without.value, without.error)
    assert with_.error is not None
    (row,) = rows()
    assert (row["status"], row["outputs"]) == ("error", "ok")


def test_a_10_mb_response_comes_back_whole_and_its_row_is_cut_and_says_so() -> None:
    text = "".join(f"{i:07d} line of a huge answer\n" for i in range(340_000))  # ~10 MB
    assert len(text) > 10_000_000

    def fault(server: LLMServer) -> None:
        server.queue_response(200, completion(text))

    without, with_ = with_and_without_tracklm(chat, fault)

    assert with_.error is without.error is None
    assert with_.value == without.value
    assert with_.value["choices"][0]["message"]["content"] == text
    (row,) = rows()
    assert row["outputs"] == text[:100_000]
    assert row["truncated"] == "outputs"
    assert row["output_tokens"] == 2


def test_a_prompt_of_several_mb_is_sent_whole_and_its_row_is_cut() -> None:
    prompt = "é" * 3_000_000 + "END"

    def call(server: LLMServer) -> Any:
        reply = client(server).chat.completions.create(model="m", messages=user(prompt))
        return len(server.requests[-1].body), reply.choices[0].message.content[-3:]

    without, with_ = with_and_without_tracklm(call)

    assert with_.value == without.value
    assert with_.value[1] == "END"
    (row,) = rows()
    assert len(row["inputs"]) == 100_000
    assert json.loads(json.dumps(row["inputs"])).startswith('[{"role":"user","content":"ééé')
    assert row["truncated"] == "inputs,outputs"


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_a_slow_server_is_waited_for_exactly_as_long_and_the_row_says_how_long(
    stream: bool,
) -> None:
    def fault(server: LLMServer) -> None:
        if stream:
            events = [chunk("late"), chunk(" reply", "stop"), "data: [DONE]\n\n"]
            server.queue_response(chunks=events, first_chunk_delay=DELAY)
        else:  # a body whose first byte comes late
            body = json.dumps(completion("late reply"))
            server.queue_response(
                chunks=[body],
                first_chunk_delay=DELAY,
                headers={"Content-Type": "application/json"},
            )

    def call(server: LLMServer) -> Any:
        return read_stream(server) if stream else chat(server)

    without, with_ = with_and_without_tracklm(call, fault)

    assert (with_.value, with_.error) == (without.value, without.error)
    assert without.seconds >= DELAY
    assert with_.seconds - without.seconds < TRACKLM_BUDGET
    (row,) = rows()
    assert row["status"] == "ok"
    assert row["latency_ms"] >= DELAY * 1000
    if stream:
        assert row["outputs"] == "late reply"
        assert DELAY * 1000 <= row["ttft_ms"] <= row["latency_ms"]


def test_an_async_stream_cut_midway_breaks_the_same_way() -> None:
    def fault(server: LLMServer) -> None:
        server.queue_response(chunks=[chunk("a"), chunk("b"), chunk("c")], cut_after=1)

    def call(server: LLMServer) -> Any:
        async def read() -> Any:
            seen = []
            aio = openai.AsyncOpenAI(api_key=API_KEY, base_url=server.openai_base_url)
            async with aio:
                stream = await aio.chat.completions.create(
                    model="m", messages=user("hi"), stream=True, extra_body={"top_k": 3}
                )
                try:
                    async for piece in stream:
                        seen.append(piece.choices[0].delta.content)
                except openai.APIError as exc:
                    return seen, type(exc).__name__
            return seen, None

        return asyncio.run(read())

    without, with_ = with_and_without_tracklm(call, fault)

    assert (with_.value, with_.error) == (without.value, without.error)
    assert with_.value == [["a"], "APIConnectionError"]
    (row,) = rows()
    assert (row["status"], row["outputs"]) == ("error", "a")
    assert json.loads(row["params"]) == {"model": "m", "top_k": 3}
