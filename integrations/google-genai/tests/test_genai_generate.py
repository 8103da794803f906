"""``models.generate_content``: what a call's row, run params and metrics hold."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from google.genai import types
from google_support import (
    HAS_RESPONSE_ID,
    HAS_THINKING_BUDGET,
    HAS_THOUGHTS_COUNT,
    MODEL,
    POEM,
    answer,
    client,
    recorded,
    usage,
    vertex_client,
)

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions

Replay = Callable[..., LLMServer]


def test_a_generate_content_row_holds_every_field(replay: Replay) -> None:
    server = replay(recorded("non_streaming", "sync"))
    with tracklm.start_run() as run:
        reply = client(server).models.generate_content(model=MODEL, contents=POEM)

    got = prediction(run)
    assert type(reply) is types.GenerateContentResponse
    assert reply.text is not None
    assert reply.text.startswith("In systems vast")
    assert {k: got[k] for k in ("integration", "provider", "operation", "step")} == {
        "integration": "google-genai",
        "provider": "gcp.gemini",
        "operation": "generate_content",
        "step": 1,
    }
    assert (got["model"], got["response_model"]) == (MODEL, "gemini-2.5-flash")
    assert got["response_id"] == ("hizpaKmcH9qs698P85HHgAU" if HAS_RESPONSE_ID else None)
    assert json_cell(got["inputs"]) == [{"role": "user", "content": POEM}]
    assert got["outputs"] == reply.text
    assert json_cell(got["params"]) == {"model": MODEL}
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (8, 433, 1918)
    assert got["reasoning_tokens"] == (1477 if HAS_THOUGHTS_COUNT else None)
    assert got["cached_input_tokens"] is None  # not reported: unknown, not 0
    assert (got["finish_reason"], got["stream"], got["status"]) == ("stop", False, "ok")
    assert (got["error"], got["ttft_ms"]) == (None, None)
    assert got["latency_ms"] > 0
    metrics = tracklm.get_run(run.info.run_id).data.metrics
    assert (metrics["input_tokens"], metrics["output_tokens"]) == (8.0, 433.0)
    assert "ttft_ms" not in metrics


def test_an_async_call_is_recorded_like_a_sync_one(replay: Replay) -> None:
    server = replay(recorded("non_streaming", "async"))

    async def call() -> str | None:
        reply = await client(server).aio.models.generate_content(model=MODEL, contents=POEM)
        assert type(reply) is types.GenerateContentResponse
        return reply.text

    with tracklm.start_run() as run:
        text = asyncio.run(call())

    got = prediction(run)
    assert got["outputs"] == text
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (8, 340, 2040)
    assert (got["operation"], got["stream"], got["finish_reason"]) == (
        "generate_content",
        False,
        "stop",
    )


def test_params_are_the_config_fields_the_caller_set(server: LLMServer) -> None:
    server.queue_response(200, answer("ok", tokens=usage(3, 1)))
    thinking: dict[str, Any] = {}
    if HAS_THINKING_BUDGET:  # not in google-genai 1.0
        thinking["thinking_config"] = types.ThinkingConfig(thinking_budget=256)
    config = types.GenerateContentConfig(
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_output_tokens=128,
        candidate_count=1,
        seed=7,
        stop_sequences=["\n\n"],
        presence_penalty=0.5,
        frequency_penalty=0.25,
        response_mime_type="text/plain",
        **thinking,
    )
    with tracklm.start_run() as run:
        client(server).models.generate_content(model=MODEL, contents="hi", config=config)

    expected: dict[str, Any] = {
        "model": MODEL,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "max_output_tokens": 128,
        "candidate_count": 1,
        "seed": 7,
        "stop_sequences": ["\n\n"],
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
        "response_mime_type": "text/plain",
    }
    if HAS_THINKING_BUDGET:
        expected["thinking_budget"] = 256
    assert json_cell(prediction(run)["params"]) == expected
    params = tracklm.get_run(run.info.run_id).data.params
    assert (params["temperature"], params["top_k"], params["stop_sequences"]) == (
        "0.2",
        "40",
        '["\\n\\n"]',
    )
    if HAS_THINKING_BUDGET:
        assert params["thinking_budget"] == "256"
    sent = server.requests[0].json()["generationConfig"]
    assert (sent["temperature"], sent["topK"], sent["maxOutputTokens"]) == (0.2, 40, 128)


def test_a_config_dict_in_snake_or_camel_case_gives_the_same_params(server: LLMServer) -> None:
    server.queue_response(200, answer("ok"), times=2)
    configs: list[Any] = [
        {"temperature": 0.5, "max_output_tokens": 64, "top_k": 3.0},
        {"temperature": 0.5, "maxOutputTokens": 64, "topK": 3.0},
    ]
    with tracklm.start_run() as run:
        for config in configs:
            client(server).models.generate_content(model=MODEL, contents="hi", config=config)

    expected = {"model": MODEL, "temperature": 0.5, "max_output_tokens": 64, "top_k": 3.0}
    assert [json_cell(r["params"]) for r in predictions(run)] == [expected, expected]


def test_sdk_defaults_and_transport_options_are_never_params(server: LLMServer) -> None:
    server.queue_response(200, answer("ok"))
    config = types.GenerateContentConfig(
        temperature=None,
        http_options=types.HttpOptions(headers={"x-app": "1"}),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    with tracklm.start_run() as run:
        client(server).models.generate_content(model=MODEL, contents="hi", config=config)

    assert json_cell(prediction(run)["params"]) == {"model": MODEL}
    assert tracklm.get_run(run.info.run_id).data.params == {"model": MODEL}
    assert server.requests[0].header("x-app") == "1"


def test_the_system_instruction_is_the_first_message_of_the_inputs(server: LLMServer) -> None:
    server.queue_response(200, answer("ok"), times=2)
    instruction = types.Content(parts=[types.Part(text="Be brief."), types.Part(text=" Rhyme.")])
    with tracklm.start_run() as run:
        models = client(server).models
        models.generate_content(
            model=MODEL, contents="hi", config={"system_instruction": "Be brief."}
        )
        models.generate_content(
            model=MODEL,
            contents="hi",
            config=types.GenerateContentConfig(system_instruction=instruction),
        )

    first, second = predictions(run)
    assert json_cell(first["inputs"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert json_cell(second["inputs"])[0] == {"role": "system", "content": "Be brief. Rhyme."}
    assert "system_instruction" not in json_cell(first["params"])
    assert "systemInstruction" in server.requests[0].json()


PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("contents", "inputs"),
    [
        ("hi", [{"role": "user", "content": "hi"}]),
        (["a", "b"], [{"role": "user", "content": "ab"}]),
        (
            [
                types.Content(role="user", parts=[types.Part(text="q")]),
                types.Content(role="model", parts=[types.Part(text="a")]),
                "next",
            ],
            [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a"},
                {"role": "user", "content": "next"},
            ],
        ),
        ({"role": "user", "parts": [{"text": "a dict"}]}, [{"role": "user", "content": "a dict"}]),
        (
            ["what is this?", types.Part(inline_data=types.Blob(data=PNG, mime_type="image/png"))],
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this?"},
                        {"type": "blob", "mime_type": "image/png", "data": "<8 bytes>"},
                    ],
                }
            ],
        ),
        (
            [
                types.Content(
                    role="model",
                    parts=[types.Part(function_call=types.FunctionCall(name="f", args={"x": 1}))],
                ),
                types.Content(
                    role="user",
                    parts=[
                        types.Part(
                            function_response=types.FunctionResponse(
                                name="f", response={"result": 2}
                            )
                        )
                    ],
                ),
            ],
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": None, "name": "f", "arguments": {"x": 1}}],
                },
                {"role": "tool", "tool_call_id": None, "name": "f", "content": {"result": 2}},
            ],
        ),
        (
            [
                {"text": "Run it: "},
                {"executableCode": {"language": "PYTHON", "code": "print(6 * 7)"}},
                {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "42\n"}},
            ],
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Run it: "},
                        {"type": "executable_code", "language": "PYTHON", "code": "print(6 * 7)"},
                        {
                            "type": "code_execution_result",
                            "outcome": "OUTCOME_OK",
                            "output": "42\n",
                        },
                    ],
                }
            ],
        ),
    ],
    ids=["text", "texts", "contents", "dict", "image", "function-call-and-response", "code"],
)
def test_every_form_of_contents_becomes_chat_messages(
    server: LLMServer, contents: Any, inputs: list[dict[str, Any]]
) -> None:
    server.queue_response(200, answer("ok"))
    with tracklm.start_run() as run:
        client(server).models.generate_content(model=MODEL, contents=contents)

    assert json_cell(prediction(run)["inputs"]) == inputs


WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="The weather in a city.",
    parameters=types.Schema(
        type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}
    ),
)


def get_time(city: str) -> str:
    """The time in a city (a Python function given as a tool)."""
    return "noon"


# google-genai 1.0 cannot read the string annotations of `from __future__ import annotations`
get_time.__annotations__ = {"city": str, "return": str}


def test_function_calls_are_json_with_names_and_arguments(server: LLMServer) -> None:
    call = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    server.queue_response(200, answer(call, tokens=usage(20, 5)))
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[WEATHER]), get_time],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    with tracklm.start_run() as run:
        reply = client(server).models.generate_content(
            model=MODEL, contents="Weather in Paris?", config=config
        )

    got = prediction(run)
    assert reply.function_calls is not None
    assert reply.function_calls[0].name == "get_weather"
    assert json_cell(got["outputs"]) == {
        "tool_calls": [{"id": None, "name": "get_weather", "arguments": {"city": "Paris"}}]
    }
    assert json_cell(got["params"]) == {"model": MODEL, "tools": ["get_weather", "get_time"]}
    assert got["finish_reason"] == "stop"


def test_thoughts_are_kept_apart_from_the_text(server: LLMServer) -> None:
    thought = {"text": "The user wants a number.", "thought": True}
    server.queue_response(200, answer(thought, "42", tokens=usage(4, 1, thoughts=30)))
    with tracklm.start_run() as run:
        client(server).models.generate_content(
            model=MODEL, contents="Answer?", config={"thinking_config": {"include_thoughts": True}}
        )

    got = prediction(run)
    assert json_cell(got["outputs"]) == {"content": "42", "thoughts": "The user wants a number."}
    assert json_cell(got["params"]) == {"model": MODEL, "include_thoughts": True}
    assert got["reasoning_tokens"] == (30 if HAS_THOUGHTS_COUNT else None)
    assert got["total_tokens"] == 35


def test_several_candidates_are_a_list_of_outputs(server: LLMServer) -> None:
    body = {
        "candidates": [
            {
                "index": 0,
                "content": {"role": "model", "parts": [{"text": "one"}]},
                "finishReason": "STOP",
            },
            {
                "index": 1,
                "content": {"role": "model", "parts": [{"text": "two"}]},
                "finishReason": "MAX_TOKENS",
            },
        ],
        "usageMetadata": usage(2, 2),
        "modelVersion": "gemini-2.5-flash-001",
    }
    server.queue_response(200, body)
    with tracklm.start_run() as run:
        client(server).models.generate_content(
            model=MODEL, contents="Count", config={"candidate_count": 2}
        )

    got = prediction(run)
    assert json_cell(got["outputs"]) == ["one", "two"]
    assert got["finish_reason"] == "stop,max_tokens"


def test_a_blocked_prompt_has_no_output_and_its_block_reason(server: LLMServer) -> None:
    server.queue_response(
        200,
        {
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        },
    )
    with tracklm.start_run() as run:
        reply = client(server).models.generate_content(model=MODEL, contents="...")

    got = prediction(run)
    assert reply.candidates is None
    assert (got["outputs"], got["finish_reason"], got["status"]) == (None, "safety", "ok")
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (9, None, 9)


def test_cached_tokens_are_cached_input_tokens(server: LLMServer) -> None:
    server.queue_response(200, answer("ok", tokens=usage(1000, 10, cachedContentTokenCount=900)))
    with tracklm.start_run() as run:
        client(server).models.generate_content(
            model=MODEL, contents="hi", config={"cached_content": "cachedContents/abc"}
        )

    got = prediction(run)
    assert (got["input_tokens"], got["cached_input_tokens"]) == (1000, 900)
    assert json_cell(got["params"])["cached_content"] == "cachedContents/abc"


def test_a_later_change_to_the_contents_or_config_does_not_reach_the_row(
    server: LLMServer,
) -> None:
    server.queue_response(200, answer("first answer"), times=2)
    history: list[Any] = [types.Content(role="user", parts=[types.Part(text="first question")])]
    config: dict[str, Any] = {"temperature": 0.1}
    with tracklm.start_run() as run:
        models = client(server).models
        reply = models.generate_content(model=MODEL, contents=history, config=config)
        history.append(reply.candidates[0].content if reply.candidates else None)
        history.append(types.Content(role="user", parts=[types.Part(text="second question")]))
        config["temperature"] = 0.9
        models.generate_content(model=MODEL, contents=history, config=config)

    first, second = predictions(run)
    assert json_cell(first["inputs"]) == [{"role": "user", "content": "first question"}]
    assert json_cell(first["params"])["temperature"] == 0.1
    assert [m["content"] for m in json_cell(second["inputs"])] == [
        "first question",
        "first answer",
        "second question",
    ]
    assert json_cell(second["params"])["temperature"] == 0.9
    assert tracklm.get_run(run.info.run_id).data.params["temperature"] == "0.1"  # first wins


def test_a_vertex_ai_clients_calls_are_gcp_vertex_ai(replay: Replay) -> None:
    server = replay(recorded("non_streaming", "sync", "excludecontent"))
    with tracklm.start_run() as run:
        reply = vertex_client(server).models.generate_content(model=MODEL, contents=POEM)

    got = prediction(run)
    assert server.requests[0].path.startswith("/v1beta1/projects/test-project/locations/")
    assert (got["provider"], got["model"], got["outputs"]) == ("gcp.vertex_ai", MODEL, reply.text)
    assert got["total_tokens"] == 2639
