"""The SDK's ``parse`` and ``stream`` helpers, sync and async: one row per call."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pydantic
from openai_support import aclient, chat_helpers, client, needs_responses, user

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions


class Weather(pydantic.BaseModel):
    city: str
    degrees: int


def test_chat_parse_records_the_structured_output(server: LLMServer) -> None:
    message = {"role": "assistant", "content": '{"city":"Paris","degrees":21}'}
    server.queue_response(
        200,
        {
            "id": "chatcmpl-parse",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
        },
    )
    with tracklm.start_run() as run:
        reply = chat_helpers(client(server)).parse(
            model="gpt-4o", messages=user("weather in Paris?"), response_format=Weather
        )

    assert reply.choices[0].message.parsed == Weather(city="Paris", degrees=21)
    got = prediction(run)
    assert json_cell(got["outputs"]) == {"city": "Paris", "degrees": 21}
    params = json_cell(got["params"])
    assert params["response_format"]["json_schema"]["name"] == "Weather"
    assert (got["operation"], got["total_tokens"]) == ("chat", 16)


def test_chat_parse_of_a_pydantic_tool_records_the_call(server: LLMServer) -> None:
    async def call() -> Any:
        async with aclient(server) as aio:
            return await chat_helpers(aio).parse(
                model="gpt-4o",
                messages=user('call Weather {"city": "Oslo", "degrees": 3}'),
                tools=[openai.pydantic_function_tool(Weather)],
            )

    with tracklm.start_run() as run:
        reply = asyncio.run(call())

    (tool_call,) = reply.choices[0].message.tool_calls
    assert tool_call.function.parsed_arguments == Weather(city="Oslo", degrees=3)
    outputs = json_cell(prediction(run)["outputs"])
    assert outputs["tool_calls"] == [
        {"id": tool_call.id, "name": "Weather", "arguments": {"city": "Oslo", "degrees": 3}}
    ]
    assert json_cell(prediction(run)["params"])["tools"] == ["Weather"]


def test_the_chat_stream_helper_gives_one_row_with_the_final_text(server: LLMServer) -> None:
    with (
        tracklm.start_run() as run,
        chat_helpers(client(server)).stream(
            model="m", messages=user("one two"), temperature=0.3
        ) as stream,
    ):
        kinds = {event.type for event in stream}
        final = stream.get_final_completion()

    assert "content.delta" in kinds
    got = prediction(run)
    assert got["outputs"] == final.choices[0].message.content == "echo: one two"
    assert (got["stream"], got["finish_reason"]) == (True, "stop")
    assert got["ttft_ms"] is not None
    assert json_cell(got["params"]) == {"model": "m", "temperature": 0.3}


def test_a_stream_helper_left_early_is_finished_when_its_with_block_ends(
    server: LLMServer,
) -> None:
    with tracklm.start_run() as run:
        with chat_helpers(client(server)).stream(model="m", messages=user("a b c d")) as stream:
            for event in stream:
                if event.type == "content.delta" and event.delta:
                    break
        found = predictions(run)  # `stream` is still referenced: no garbage collection needed

    assert [r["outputs"] for r in found] == ["echo:"]
    assert stream is not None


def test_the_async_chat_stream_helper_gives_one_row(server: LLMServer) -> None:
    async def call() -> str | None:
        async with aclient(server) as aio:
            async with chat_helpers(aio).stream(model="m", messages=user("x y")) as stream:
                async for event in stream:
                    if event.type == "content.delta" and event.delta.strip() == "x":
                        break
            return (await aio.chat.completions.create(model="m", messages=user("z"))).id

    with tracklm.start_run() as run:
        asyncio.run(call())

    assert [(r["outputs"], r["stream"]) for r in predictions(run)] == [
        ("echo: x", True),
        ("echo: z", False),
    ]


@needs_responses
def test_responses_parse_and_the_responses_stream_helper_give_one_row_each(
    server: LLMServer,
) -> None:
    with tracklm.start_run() as run:
        parsed = client(server).responses.parse(model="gpt-4o", input="first", temperature=0.2)
        with client(server).responses.stream(model="gpt-4o", input="second") as stream:
            for _ in stream:
                pass
            final = stream.get_final_response()

    first, second = predictions(run)
    assert first["outputs"] == parsed.output_text == "echo: first"
    assert (first["operation"], first["stream"], first["ttft_ms"]) == ("responses", False, None)
    assert second["outputs"] == final.output_text == "echo: second"
    assert (second["stream"], second["finish_reason"]) == (True, "completed")
    assert final.usage is not None
    assert second["input_tokens"] == final.usage.input_tokens


@needs_responses
def test_async_responses_parse_and_stream_helper_left_early_give_one_row_each(
    server: LLMServer,
) -> None:
    async def call() -> str:
        async with aclient(server) as aio:
            parsed = await aio.responses.parse(model="gpt-4o", input="parse me")
            async with aio.responses.stream(model="gpt-4o", input="p q r") as stream:
                async for event in stream:
                    if event.type == "response.output_text.delta":
                        break
            return parsed.output_text

    with tracklm.start_run() as run:
        text = asyncio.run(call())

    first, second = predictions(run)
    assert (first["outputs"], first["stream"]) == (text, False)
    assert (second["operation"], second["outputs"], second["status"]) == (
        "responses",
        "echo:",
        "ok",
    )
    assert second["stream"] is True
