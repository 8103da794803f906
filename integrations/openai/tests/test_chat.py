"""Chat completions: what a call's row, run params and metrics hold (replayed and echoed)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai_support import SAY_TEST, WEATHER_TOOL, aclient, client, user

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions

Replay = Callable[..., LLMServer]


def test_a_chat_completion_row_holds_every_field(replay: Replay) -> None:
    server = replay("test_chat_completion_with_content")
    with tracklm.start_run() as run:
        reply = client(server).chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)

    got = prediction(run)
    assert reply.choices[0].message.content == "This is a test."
    assert {k: got[k] for k in ("integration", "provider", "operation", "step")} == {
        "integration": "openai",
        "provider": "127.0.0.1",  # an OpenAI-compatible server tracklm does not know by name
        "operation": "chat",
        "step": 1,
    }
    assert (got["model"], got["response_model"]) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert got["response_id"] == "chatcmpl-ASYMQRl3A3DXL9FWCK9tnGRcKIO7q"
    assert json_cell(got["inputs"]) == SAY_TEST
    assert got["outputs"] == "This is a test."
    assert json_cell(got["params"]) == {"model": "gpt-4o-mini"}
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (12, 5, 17)
    assert (got["cached_input_tokens"], got["reasoning_tokens"]) == (0, 0)
    assert (got["finish_reason"], got["stream"], got["status"]) == ("stop", False, "ok")
    assert got["error"] is None
    assert got["ttft_ms"] is None  # not a stream
    assert got["latency_ms"] > 0
    assert got["timestamp"].endswith("+00:00")


def test_run_params_and_metrics_come_from_the_calls(replay: Replay) -> None:
    server = replay("test_chat_completion_extra_params", "test_chat_completion_with_content")
    with tracklm.start_run() as run:
        chat = client(server).chat.completions
        chat.create(
            model="gpt-4o-mini",
            messages=SAY_TEST,
            max_tokens=50,
            seed=42,
            temperature=0.5,
            response_format={"type": "text"},
            service_tier="default",
            stop=["\n\n"],
        )
        chat.create(model="gpt-4o-mini", messages=SAY_TEST, temperature=0.9)  # first value wins

    first, second = predictions(run)
    assert json_cell(first["params"])["stop"] == ["\n\n"]
    assert json_cell(second["params"]) == {"model": "gpt-4o-mini", "temperature": 0.9}
    recorded = tracklm.get_run(run.info.run_id).data
    assert recorded.params == {
        "model": "gpt-4o-mini",
        "max_tokens": "50",
        "seed": "42",
        "temperature": "0.5",
        "response_format": '{"type":"text"}',
        "service_tier": "default",
        "stop": '["\\n\\n"]',
    }
    history = tracklm.TracklmClient().get_metric_history(run.info.run_id, "input_tokens")
    assert [(m.step, m.value) for m in history] == [(1, 12.0), (2, 12.0)]
    assert recorded.metrics["output_tokens"] == 5.0  # latest: the second call's
    assert recorded.metrics["latency_ms"] > 0
    assert "ttft_ms" not in recorded.metrics


def test_sampling_params_in_extra_body_are_params(server: LLMServer) -> None:
    with tracklm.start_run() as run:
        client(server).chat.completions.create(
            model="qwen3",
            messages=user("hi"),
            top_p=0.8,
            extra_body={"top_k": 20, "min_p": 0.05, "repetition_penalty": 1.1},
        )

    assert json_cell(prediction(run)["params"]) == {
        "model": "qwen3",
        "top_p": 0.8,
        "top_k": 20,
        "min_p": 0.05,
        "repetition_penalty": 1.1,
    }
    params = tracklm.get_run(run.info.run_id).data.params
    assert (params["top_k"], params["min_p"], params["repetition_penalty"]) == ("20", "0.05", "1.1")


def test_sdk_sentinels_are_never_params(replay: Replay) -> None:
    server = replay("test_chat_completion_handles_not_given")
    not_given: Any = openai.NOT_GIVEN  # newer releases type their arguments with `omit`
    with tracklm.start_run() as run:
        client(server).chat.completions.create(
            model="gpt-4o-mini",
            messages=SAY_TEST,
            temperature=not_given,
            seed=not_given,
            extra_body={"top_k": not_given, "min_p": 0.1},
        )

    assert json_cell(prediction(run)["params"]) == {"model": "gpt-4o-mini", "min_p": 0.1}
    assert tracklm.get_run(run.info.run_id).data.params == {"model": "gpt-4o-mini", "min_p": "0.1"}


_CREATE_ARGS = inspect.signature(openai.resources.chat.Completions.create).parameters


@pytest.mark.skipif(
    "reasoning_effort" not in _CREATE_ARGS,
    reason=f"openai {openai.__version__} has no max_completion_tokens / reasoning_effort",
)
def test_max_completion_tokens_and_reasoning_effort_are_params(server: LLMServer) -> None:
    with tracklm.start_run() as run:
        client(server).chat.completions.create(
            model="o4-mini",
            messages=user("hi"),
            max_completion_tokens=64,
            reasoning_effort="low",
        )

    params = tracklm.get_run(run.info.run_id).data.params
    assert params == {"model": "o4-mini", "max_completion_tokens": "64", "reasoning_effort": "low"}


def test_tool_calls_are_json_with_names_and_arguments(replay: Replay) -> None:
    server = replay("test_chat_completion_tool_calls_no_content")
    with tracklm.start_run() as run:
        client(server).chat.completions.create(
            model="gpt-4o-mini", messages=user("weather?"), tools=[WEATHER_TOOL], tool_choice="auto"
        )

    got = prediction(run)
    assert json_cell(got["outputs"]) == {
        "tool_calls": [
            {
                "id": "call_eqbDFUdPqay2WjsSzZEiAn0U",
                "name": "get_current_weather",
                "arguments": {"location": "Seattle, WA"},
            },
            {
                "id": "call_tn3sgasg6GaftTdancBYJNJN",
                "name": "get_current_weather",
                "arguments": {"location": "San Francisco, CA"},
            },
        ]
    }
    assert got["finish_reason"] == "tool_calls"
    assert json_cell(got["params"]) == {
        "model": "gpt-4o-mini",
        "tool_choice": "auto",
        "tools": ["get_current_weather"],
    }


def test_several_choices_are_a_list_of_outputs(replay: Replay) -> None:
    server = replay("test_chat_completion_multiple_choices")
    with tracklm.start_run() as run:
        client(server).chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST, n=2)

    got = prediction(run)
    assert json_cell(got["outputs"]) == ["This is a test. How can I assist you further?"] * 2
    assert got["finish_reason"] == "stop,stop"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_404_is_reraised_as_the_sdks_own_error_and_its_row_says_why(
    replay: Replay, monkeypatch: pytest.MonkeyPatch, is_async: bool
) -> None:
    server = replay("test_async_chat_completion_404" if is_async else "test_chat_completion_404")
    created: list[BaseException] = []  # the error objects the SDK itself made
    for cls in (openai.OpenAI, openai.AsyncOpenAI):
        make = cls._make_status_error
        monkeypatch.setattr(cls, "_make_status_error", _spy(make, created))

    async def call_async() -> None:
        async with aclient(server) as aio:
            await aio.chat.completions.create(model="this-model-does-not-exist", messages=SAY_TEST)

    def call() -> None:
        client(server).chat.completions.create(model="this-model-does-not-exist", messages=SAY_TEST)

    with tracklm.start_run() as run, pytest.raises(openai.NotFoundError) as raised:
        asyncio.run(call_async()) if is_async else call()

    assert created == [raised.value]
    assert raised.value is created[0]
    got = prediction(run)
    assert (got["status"], got["model"], got["response_model"]) == (
        "error",
        "this-model-does-not-exist",
        None,
    )
    assert got["error"].startswith("NotFoundError: Error code: 404")
    assert "The model `this-model-does-not-exist` does not exist" in got["error"]
    assert (got["outputs"], got["input_tokens"]) == (None, None)


def _spy(make: Callable[..., BaseException], created: list[BaseException]) -> Any:
    def spy(self: Any, *args: Any, **kwargs: Any) -> BaseException:
        error = make(self, *args, **kwargs)
        created.append(error)
        return error

    return spy


def test_an_async_chat_completion_is_recorded_like_a_sync_one(replay: Replay) -> None:
    server = replay("test_async_chat_completion_with_content")

    async def call() -> str | None:
        async with aclient(server) as aio:
            reply = await aio.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)
            return reply.choices[0].message.content

    with tracklm.start_run() as run:
        text = asyncio.run(call())

    got = prediction(run)
    assert got["outputs"] == text == "This is a test. How can I assist you further?"
    assert (got["input_tokens"], got["output_tokens"], got["stream"]) == (12, 12, False)


def test_a_legacy_completion_is_recorded(server: LLMServer) -> None:
    with tracklm.start_run() as run:
        reply = client(server).completions.create(
            model="gpt-3.5-turbo-instruct", prompt="say hi", max_tokens=5
        )

    got = prediction(run)
    assert got["operation"] == "completion"
    assert got["outputs"] == reply.choices[0].text
    assert got["inputs"] == "say hi"
    assert json_cell(got["params"]) == {"model": "gpt-3.5-turbo-instruct", "max_tokens": 5}


def test_a_later_change_to_the_messages_list_does_not_reach_the_row(server: LLMServer) -> None:
    messages = user("first question")
    with tracklm.start_run() as run:
        reply = client(server).chat.completions.create(model="m", messages=messages)
        messages.append({"role": "assistant", "content": reply.choices[0].message.content})

    assert json_cell(prediction(run)["inputs"]) == user("first question")
