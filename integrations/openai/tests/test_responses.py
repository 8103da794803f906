"""The Responses API, replayed: text, tool calls, cached and reasoning tokens, streams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai_support import aclient, client, needs_responses

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions

pytestmark = needs_responses
Replay = Callable[..., LLMServer]


def _cassette(test: str) -> str:
    return f"test_responses_create_{test}[content_mode0]"


def test_a_response_row_holds_text_params_and_cached_tokens(replay: Replay) -> None:
    server = replay(_cassette("with_all_params"))
    with tracklm.start_run() as run:
        response = client(server).responses.create(
            model="gpt-4o-mini",
            input="Say this is a test",
            instructions="You are a helpful assistant.",
            max_output_tokens=50,
            temperature=0.7,
            top_p=0.9,
            service_tier="default",
            text={"format": {"type": "text"}},
        )

    got = prediction(run)
    assert got["outputs"] == response.output_text == "This is a test."
    assert (got["operation"], got["model"], got["response_model"]) == (
        "responses",
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
    )
    assert got["response_id"] == "resp_043deb558fe563590069e2f3ed46e881a198f40c952daa2f86"
    assert got["inputs"] == "Say this is a test"
    assert json_cell(got["params"]) == {
        "model": "gpt-4o-mini",
        "instructions": "You are a helpful assistant.",
        "max_output_tokens": 50,
        "temperature": 0.7,
        "top_p": 0.9,
        "service_tier": "default",
        "text": {"format": {"type": "text"}},
    }
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (22, 6, 28)
    assert (got["cached_input_tokens"], got["reasoning_tokens"]) == (0, 0)
    assert (got["finish_reason"], got["stream"], got["ttft_ms"]) == ("completed", False, None)


def test_reasoning_tokens_are_recorded(replay: Replay) -> None:
    server = replay(_cassette("reports_reasoning_tokens"))
    messages: Any = [{"role": "user", "content": "Write a bash script that transposes a matrix."}]
    with tracklm.start_run() as run:
        client(server).responses.create(
            model="gpt-5.4", input=messages, max_output_tokens=300, reasoning={"effort": "low"}
        )

    got = prediction(run)
    assert json_cell(got["inputs"]) == messages
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (44, 288, 332)
    assert (got["reasoning_tokens"], got["cached_input_tokens"]) == (9, 0)
    assert got["response_model"] == "gpt-5.4-2026-03-05"
    assert got["outputs"].startswith("```bash")
    params = tracklm.get_run(run.info.run_id).data.params
    assert (params["reasoning"], params["max_output_tokens"]) == ('{"effort":"low"}', "300")


def test_a_function_call_is_recorded_as_a_tool_call(replay: Replay) -> None:
    server = replay(_cassette("captures_tool_call_content"))
    tool: Any = {
        "type": "function",
        "name": "get_current_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    }
    with tracklm.start_run() as run:
        client(server).responses.create(
            model="gpt-4o-mini",
            input="What's the weather in Seattle right now?",
            tools=[tool],
            tool_choice={"type": "function", "name": "get_current_weather"},
        )

    got = prediction(run)
    assert json_cell(got["outputs"]) == {
        "tool_calls": [
            {
                "id": "call_90uO5LcGP5vTBTCrjyhYtWsA",
                "name": "get_current_weather",
                "arguments": {"location": "Seattle, WA"},
            }
        ]
    }
    assert json_cell(got["params"])["tools"] == ["get_current_weather"]


def test_a_streamed_response_is_read_from_its_completed_event(replay: Replay) -> None:
    server = replay(_cassette("streaming_aggregates_cache_tokens"))
    with tracklm.start_run() as run:
        stream = client(server).responses.create(
            model="gpt-4o-mini", input="Say this is a test", stream=True
        )
        assert isinstance(stream, openai.Stream)
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]

    got = prediction(run)
    assert got["outputs"] == "".join(deltas) == "This is a test."
    assert (got["input_tokens"], got["output_tokens"], got["cached_input_tokens"]) == (22, 6, 0)
    assert (got["stream"], got["finish_reason"]) == (True, "completed")
    assert got["ttft_ms"] is not None


def test_async_responses_plain_and_streamed_are_recorded(replay: Replay) -> None:
    server = replay(_cassette("basic"), _cassette("streaming"))

    async def call() -> tuple[str, str]:
        async with aclient(server) as aio:
            plain = await aio.responses.create(model="gpt-4o-mini", input="Say this is a test")
            stream = await aio.responses.create(
                model="gpt-4o-mini", input="Say this is a test", stream=True
            )
            assert isinstance(stream, openai.AsyncStream)
            deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
            return plain.output_text, "".join(deltas)

    with tracklm.start_run() as run:
        texts = asyncio.run(call())

    plain, streamed = predictions(run)
    assert (plain["outputs"], plain["stream"]) == (texts[0], False)
    assert plain["response_id"] == "resp_0f4faba17dcd0f1e0069e2f3e4907881909179832ba1237025"
    assert streamed["outputs"] == texts[1] == "This is a test."
    assert streamed["response_id"] == "resp_0415a3de5d3015560069e2f3f4b3088192949253e91aff1eb3"
    assert (streamed["stream"], streamed["total_tokens"]) == (True, 28)


def test_an_api_error_gives_an_error_row(replay: Replay) -> None:
    server = replay(_cassette("api_error"))
    with tracklm.start_run() as run, pytest.raises(openai.BadRequestError):
        client(server).responses.create(model="this-model-does-not-exist", input="Hello")

    got = prediction(run)
    assert got["status"] == "error"
    assert got["error"].startswith("BadRequestError: Error code: 400")
    assert "'this-model-does-not-exist' does not exist" in got["error"]
