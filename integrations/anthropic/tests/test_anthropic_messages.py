"""``messages.create``: what a call's row, run params and metrics hold (replayed responses)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anthropic
import pydantic
import pytest
from anthropic_support import (
    HAIKU_35,
    JOKE,
    OPUS_3,
    SONNET_35,
    SONNET_37,
    Replay,
    aclient,
    client,
    error,
    message,
    needs_parse,
    user,
)

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions

WEATHER: Any = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
}
STRAWBERRY: Any = [
    {
        "role": "user",
        "content": [
            {
                "type": "text",
                "text": "How many times does the letter 'r' appear in the word strawberry?",
            }
        ],
    }
]
THINKING: Any = {"type": "enabled", "budget_tokens": 1024}


def test_a_message_row_holds_every_field(replay: Replay) -> None:
    server = replay("messages__test_anthropic_message_create_legacy")
    with tracklm.start_run() as run:
        reply = client(server).messages.create(model=OPUS_3, max_tokens=1024, messages=JOKE)

    got = prediction(run)
    assert type(reply) is anthropic.types.Message
    assert {k: got[k] for k in ("integration", "provider", "operation", "step")} == {
        "integration": "anthropic",
        "provider": "anthropic",
        "operation": "chat",
        "step": 1,
    }
    assert (got["model"], got["response_model"]) == (OPUS_3, OPUS_3)
    assert got["response_id"] == "msg_01TPXhkPo8jy6yQMrMhjpiAE"
    assert json_cell(got["inputs"]) == JOKE
    assert got["outputs"] == reply.content[0].text  # type: ignore[union-attr]
    assert got["outputs"].startswith("Sure, here's a joke about OpenTelemetry")
    assert json_cell(got["params"]) == {"model": OPUS_3, "max_tokens": 1024}
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (17, 220, 237)
    assert got["cached_input_tokens"] is None  # not reported by this response: unknown, not 0
    assert (got["finish_reason"], got["stream"], got["status"]) == ("end_turn", False, "ok")
    assert (got["error"], got["ttft_ms"]) == (None, None)
    assert got["latency_ms"] > 0


def test_run_params_and_metrics_come_from_the_calls(replay: Replay) -> None:
    """Sampling parameters go through ``extra_body`` (current releases dropped them from the
    signature); they are params all the same, and the first value of each wins."""
    server = replay(
        "messages__test_anthropic_message_create_legacy",
        "messages__test_async_anthropic_message_create_legacy",
    )
    with tracklm.start_run() as run:
        messages = client(server).messages
        messages.create(
            model=OPUS_3,
            max_tokens=1024,
            messages=JOKE,
            stop_sequences=["\n\nHuman:"],
            metadata={"user_id": "u-1"},
            extra_body={"temperature": 0.5, "top_p": 0.9, "top_k": 40},
        )
        messages.create(model=OPUS_3, max_tokens=512, messages=JOKE, extra_body={"top_k": 5})

    first, second = predictions(run)
    assert json_cell(first["params"]) == {
        "model": OPUS_3,
        "max_tokens": 1024,
        "stop_sequences": ["\n\nHuman:"],
        "metadata": {"user_id": "u-1"},
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
    }
    assert json_cell(second["params"]) == {"model": OPUS_3, "max_tokens": 512, "top_k": 5}
    recorded = tracklm.get_run(run.info.run_id).data
    assert recorded.params == {
        "model": OPUS_3,
        "max_tokens": "1024",
        "stop_sequences": '["\\n\\nHuman:"]',
        "metadata": '{"user_id":"u-1"}',
        "temperature": "0.5",
        "top_p": "0.9",
        "top_k": "40",
    }
    history = tracklm.TracklmClient().get_metric_history(run.info.run_id, "output_tokens")
    assert [(m.step, m.value) for m in history] == [(1, 220.0), (2, 189.0)]
    assert recorded.metrics["total_tokens"] == 17 + 189  # latest: the second call's
    assert "ttft_ms" not in recorded.metrics


def test_sdk_sentinels_are_never_params(replay: Replay) -> None:
    server = replay("messages__test_anthropic_message_create_legacy")
    not_given: Any = anthropic.NOT_GIVEN
    with tracklm.start_run() as run:
        client(server).messages.create(
            model=OPUS_3,
            max_tokens=1024,
            messages=JOKE,
            metadata=not_given,
            stop_sequences=not_given,
            extra_body={"top_k": not_given, "top_p": 0.7},
        )

    assert json_cell(prediction(run)["params"]) == {
        "model": OPUS_3,
        "max_tokens": 1024,
        "top_p": 0.7,
    }


def test_the_system_prompt_is_the_first_input_not_a_param(replay: Replay) -> None:
    server = replay("messages__test_anthropic_image_with_history")
    system = "You are a helpful assistant. Be concise and to the point."
    question = user("Are you capable of describing an image?")
    with tracklm.start_run() as run:
        client(server).messages.create(
            model=HAIKU_35, max_tokens=1024, system=system, messages=question
        )
        blocks: Any = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
        server.queue_response(200, message())
        client(server).messages.create(
            model=HAIKU_35, max_tokens=1024, system=blocks, messages=user("again")
        )

    first, second = predictions(run)
    assert json_cell(first["inputs"]) == [{"role": "system", "content": system}, *question]
    assert json_cell(second["inputs"])[0] == {"role": "system", "content": blocks}
    assert "system" not in json_cell(first["params"])
    tracklm.autolog(log_inputs=False)
    with tracklm.start_run() as hidden:
        server.queue_response(200, message())
        client(server).messages.create(model=HAIKU_35, max_tokens=9, system=system, messages=JOKE)
    assert prediction(hidden)["inputs"] is None
    assert "system" not in str(prediction(hidden)["params"])


def test_tool_use_blocks_are_tool_calls_beside_the_text(replay: Replay) -> None:
    server = replay("messages__test_anthropic_tools_legacy")
    question = user("What is the weather like right now in New York? Also what time is it?")
    time_tool = {"name": "get_time", "input_schema": {"type": "object"}}
    with tracklm.start_run() as run:
        client(server).messages.create(
            model=SONNET_35,
            max_tokens=1024,
            messages=question,
            tools=[WEATHER, time_tool],
            tool_choice={"type": "auto"},
        )

    got = prediction(run)
    assert json_cell(got["outputs"]) == {
        "content": "Certainly! I'd be happy to help you with both the current weather in New "
        "York and the current time there. Let's use the available tools to get this "
        "information for you.",
        "tool_calls": [
            {
                "id": "toolu_012r6TBCWjRHG71j6zruYyUL",
                "name": "get_weather",
                "arguments": {"location": "New York, NY", "unit": "fahrenheit"},
            },
            {
                "id": "toolu_01SkeBKkLCNYWNuivqFerGDd",
                "name": "get_time",
                "arguments": {"timezone": "America/New_York"},
            },
        ],
    }
    assert got["finish_reason"] == "tool_use"
    assert json_cell(got["params"]) == {
        "model": SONNET_35,
        "max_tokens": 1024,
        "tool_choice": {"type": "auto"},
        "tools": ["get_weather", "get_time"],
    }


def test_thinking_is_kept_apart_from_the_answer_and_its_budget_is_a_param(
    replay: Replay,
) -> None:
    server = replay("thinking__test_anthropic_thinking_legacy")
    with tracklm.start_run() as run:
        client(server).messages.create(
            model=SONNET_37, max_tokens=2048, messages=STRAWBERRY, extra_body={"thinking": THINKING}
        )

    got = prediction(run)
    outputs = json_cell(got["outputs"])
    assert outputs["content"] == "The letter 'r' appears 3 times in the word \"strawberry\"."
    assert outputs["thinking"].startswith("Let me count the number of times the letter 'r'")
    assert set(outputs) == {"content", "thinking"}
    params = tracklm.get_run(run.info.run_id).data.params
    assert params["thinking"] == '{"type":"enabled","budget_tokens":1024}'
    assert params["thinking_budget_tokens"] == "1024"
    assert (got["input_tokens"], got["cached_input_tokens"], got["output_tokens"]) == (52, 0, 215)


def test_prompt_cache_tokens_are_part_of_the_input_tokens(replay: Replay) -> None:
    """The API counts cache writes and reads apart from ``input_tokens``; the row's input is
    all three, its cached input the cache reads."""
    server = replay("prompt_caching__test_anthropic_prompt_caching_legacy")
    with tracklm.start_run() as run:
        for _ in range(2):
            client(server).messages.create(model=SONNET_35, max_tokens=1024, messages=JOKE)

    written, read = predictions(run)
    assert (written["input_tokens"], written["cached_input_tokens"]) == (4 + 1163, 0)
    assert (written["output_tokens"], written["total_tokens"]) == (187, 1167 + 187)
    assert (read["input_tokens"], read["cached_input_tokens"]) == (4 + 1163, 1163)
    assert read["total_tokens"] == 1167 + 202


def test_an_image_input_is_recorded_as_sent(replay: Replay) -> None:
    server = replay("messages__test_anthropic_multi_modal_legacy")
    image = {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}
    messages: Any = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What do you see?"},
                {"type": "image", "source": image},
            ],
        }
    ]
    with tracklm.start_run() as run:
        client(server).messages.create(model=OPUS_3, max_tokens=1024, messages=messages)

    got = prediction(run)
    assert json_cell(got["inputs"]) == messages
    assert got["input_tokens"] == 1381


class Joke(pydantic.BaseModel):
    joke: str
    rating: int


@needs_parse
def test_parse_records_the_parsed_output(replay: Replay) -> None:
    server = replay("structured_outputs__test_anthropic_structured_outputs_legacy")
    with tracklm.start_run() as run:
        parsed = client(server).messages.parse(
            model="claude-json", max_tokens=1024, messages=JOKE, output_format=Joke
        )

    assert parsed.parsed_output == Joke(
        joke="Why did the developer break up with OpenTelemetry? Because they had too many "
        "traces of their ex in the logs!",
        rating=7,
    )
    got = prediction(run)
    assert json_cell(got["outputs"]) == parsed.parsed_output.model_dump()
    assert json_cell(got["params"])["output_config"]["format"]["type"] == "json_schema"
    assert (got["total_tokens"], got["stream"]) == (222 + 39, False)


@pytest.mark.parametrize(
    ("status", "kind", "exception"),
    [
        (400, "invalid_request_error", anthropic.BadRequestError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (500, "api_error", anthropic.InternalServerError),
        (529, "overloaded_error", anthropic.APIStatusError),
    ],
)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_error_is_the_sdks_own_object_and_its_row_says_why(
    server: LLMServer,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    kind: str,
    exception: type[Exception],
    is_async: bool,
) -> None:
    server.queue_response(status, error(kind, f"scripted {kind}"))
    created: list[BaseException] = []  # the error objects the SDK itself made
    for cls in (anthropic.Anthropic, anthropic.AsyncAnthropic):
        monkeypatch.setattr(cls, "_make_status_error", _spy(cls._make_status_error, created))

    async def call_async() -> None:
        async with aclient(server) as aio:
            await aio.messages.create(model="claude-x", max_tokens=5, messages=JOKE)

    def call() -> None:
        client(server).messages.create(model="claude-x", max_tokens=5, messages=JOKE)

    with tracklm.start_run() as run, pytest.raises(exception) as raised:
        asyncio.run(call_async()) if is_async else call()

    assert created == [raised.value]
    got = prediction(run)
    assert (got["status"], got["model"], got["response_model"]) == ("error", "claude-x", None)
    assert got["error"] == f"{type(raised.value).__name__}: {raised.value}"
    assert f"scripted {kind}" in got["error"]
    assert (got["outputs"], got["input_tokens"]) == (None, None)


def _spy(make: Callable[..., BaseException], created: list[BaseException]) -> Any:
    def spy(self: Any, *args: Any, **kwargs: Any) -> BaseException:
        made = make(self, *args, **kwargs)
        created.append(made)
        return made

    return spy


def test_an_async_message_is_recorded_like_a_sync_one(replay: Replay) -> None:
    server = replay("thinking__test_async_anthropic_thinking_legacy")

    async def call() -> Any:
        async with aclient(server) as aio:
            return await aio.messages.create(
                model=SONNET_37,
                max_tokens=2048,
                messages=STRAWBERRY,
                extra_body={"thinking": THINKING},
            )

    with tracklm.start_run() as run:
        reply = asyncio.run(call())

    got = prediction(run)
    assert type(reply) is anthropic.types.Message
    assert json_cell(got["outputs"])["content"] == reply.content[-1].text
    assert (got["response_id"], got["output_tokens"]) == ("msg_01K323C7usCsygx2Fpu5rnsJ", 145)


def test_a_later_change_to_the_messages_list_does_not_reach_the_row(server: LLMServer) -> None:
    messages = user("first question")
    server.queue_response(200, message("first answer"))
    with tracklm.start_run() as run:
        reply = client(server).messages.create(model="m", max_tokens=5, messages=messages)
        messages.append({"role": "assistant", "content": reply.content})

    assert json_cell(prediction(run)["inputs"]) == user("first question")
