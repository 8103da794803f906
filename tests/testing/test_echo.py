"""Echo mode: deterministic answers for each OpenAI endpoint, through the real SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import openai
import pydantic
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

from tracklm.testing import LLMServer, embedding_vector

RawPost = Callable[..., tuple[int, dict[str, str], bytes]]
HI = [{"role": "user", "content": "hello there"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def client(llm_server: LLMServer) -> Any:
    with openai.OpenAI(api_key="test", base_url=llm_server.openai_base_url) as client:
        yield client


def test_chat_completion_echoes_the_last_user_message(client: openai.OpenAI) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second question"}]},
    ]
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    assert reply.choices[0].message.content == "echo: second question"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "gpt-4o-mini"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (6, 3)


def test_echo_ids_count_up_per_server(client: openai.OpenAI) -> None:
    ids = [client.chat.completions.create(model="m", messages=HI).id for _ in range(3)]
    assert ids == ["chatcmpl-echo-1", "chatcmpl-echo-2", "chatcmpl-echo-3"]


def test_stream_without_include_usage_sends_words_and_no_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="m", messages=HI, stream=True))

    assert [c.choices[0].delta.content for c in chunks] == ["", "echo:", " hello", " there", None]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


def test_stream_with_include_usage_ends_with_a_usage_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m",
        messages=HI,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (2, 3)


def test_max_tokens_cuts_the_answer_with_finish_reason_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m", messages=HI, max_tokens=2)
    assert reply.choices[0].message.content == "echo: hello"
    assert reply.choices[0].finish_reason == "length"


def test_call_toolname_gets_a_tool_call_with_schema_placeholders(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "please call get_weather"}],
        tools=[WEATHER_TOOL],
    )

    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = (choice.message.tool_calls or [])[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "echo"}


def test_tool_call_arguments_can_be_given_inline_and_streamed(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": 'call get_weather {"city": "Paris", "days": 2}'}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    chunks = list(stream)

    deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls or []]
    assert deltas[0].function is not None
    assert deltas[0].function.name == "get_weather"
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert json.loads(arguments) == {"city": "Paris", "days": 2}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_unknown_tool_name_gets_a_plain_answer(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "call get_time"}],
        tools=[WEATHER_TOOL],
    )
    assert reply.choices[0].message.content == "echo: call get_time"


def test_legacy_completion_echoes_the_prompt_plain_and_streamed(client: openai.OpenAI) -> None:
    plain = client.completions.create(model="m", prompt="say hi")
    streamed = list(client.completions.create(model="m", prompt="say hi", stream=True))

    assert plain.choices[0].text == "echo: say hi"
    assert "".join(c.choices[0].text for c in streamed) == "echo: say hi"


def test_embeddings_are_the_same_as_floats_and_base64(client: openai.OpenAI) -> None:
    floats = client.embeddings.create(model="e", input=["a", "b"], encoding_format="float")
    default = client.embeddings.create(model="e", input=["a", "b"])  # the SDK asks for base64

    assert [d.embedding for d in floats.data] == [embedding_vector("a"), embedding_vector("b")]
    assert [d.embedding for d in default.data] == [d.embedding for d in floats.data]
    assert floats.data[0].embedding != floats.data[1].embedding


def test_embedding_dimensions_are_honoured(client: openai.OpenAI) -> None:
    reply = client.embeddings.create(model="e", input="a", dimensions=3, encoding_format="float")
    assert len(reply.data[0].embedding) == 3


def test_responses_api_echoes_the_input(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-4o-mini", input="hello there", instructions="x")

    assert response.output_text == "echo: hello there"
    assert response.status == "completed"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 3)


def test_responses_stream_sends_the_event_sequence(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="m", input="hello there", stream=True))

    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "echo: hello there"
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_responses_tool_call_is_a_function_call_item(client: openai.OpenAI) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["function"]}
    tool["parameters"] = WEATHER_TOOL["function"]["parameters"]
    response = client.responses.create(
        model="m",
        input=[{"role": "user", "content": "call get_weather"}],
        tools=[tool],
    )

    item = response.output[0]
    assert item.type == "function_call"
    assert item.name == "get_weather"
    assert json.loads(item.arguments) == {"city": "echo"}


def test_async_client_streams_from_echo(llm_server: LLMServer) -> None:
    async def call() -> str:
        async with openai.AsyncOpenAI(api_key="t", base_url=llm_server.openai_base_url) as c:
            stream = await c.chat.completions.create(model="m", messages=HI, stream=True)
            return "".join([ch.choices[0].delta.content or "" async for ch in stream])

    assert asyncio.run(call()) == "echo: hello there"


def test_unknown_endpoint_gets_a_404_that_lists_the_echo_endpoints(
    client: openai.OpenAI,
) -> None:
    with pytest.raises(openai.NotFoundError, match="Echo mode answers POST to: chat/completions"):
        client.models.list()


Chunk, Embeddings, Event = ChatCompletionChunk, CreateEmbeddingResponse, ResponseStreamEvent
CALL_WEATHER = [{"role": "user", "content": "call get_weather"}]
RESPONSES_TOOL = {"type": "function", "name": "get_weather"}
USAGE = {"include_usage": True}
REQUESTS: list[tuple[str, dict[str, Any], Any]] = [
    ("/v1/chat/completions", {"messages": HI}, ChatCompletion),
    ("/v1/chat/completions", {"messages": HI, "tools": [WEATHER_TOOL], "n": 2}, ChatCompletion),
    ("/v1/completions", {"prompt": ["a", "b"], "max_tokens": 1}, Completion),
    ("/v1/embeddings", {"input": [[1, 2], [3]], "encoding_format": "float"}, Embeddings),
    ("/v1/responses", {"input": "hi", "max_output_tokens": 1}, Response),
]
# Not the legacy completions stream: its chunks have `finish_reason: null` until the last, as
# the real API's do, which the SDK's `Completion` type (used for chunks too) does not allow.
STREAMS: list[tuple[str, dict[str, Any], Any]] = [
    ("/v1/chat/completions", {"messages": HI, "stream_options": USAGE}, Chunk),
    ("/v1/chat/completions", {"messages": CALL_WEATHER, "tools": [WEATHER_TOOL]}, Chunk),
    ("/v1/responses", {"input": "hi there"}, Event),
    ("/v1/responses", {"input": "call get_weather", "tools": [RESPONSES_TOOL]}, Event),
]


@pytest.mark.parametrize(("path", "payload", "model"), REQUESTS)
def test_echo_json_validates_against_the_sdk_types(
    llm_server: LLMServer, raw_post: RawPost, path: str, payload: dict[str, Any], model: Any
) -> None:
    status, _, body = raw_post(llm_server, path, {"model": "m", **payload})
    assert status == 200
    pydantic.TypeAdapter(model).validate_json(body)


@pytest.mark.parametrize(("path", "payload", "model"), STREAMS)
def test_echo_stream_events_validate_against_the_sdk_types(
    llm_server: LLMServer,
    raw_post: RawPost,
    parse_sse: Callable[[bytes], list[Any]],
    path: str,
    payload: dict[str, Any],
    model: Any,
) -> None:
    status, headers, body = raw_post(llm_server, path, {"model": "m", "stream": True, **payload})
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(body)
    assert events
    for event in events:
        pydantic.TypeAdapter(model).validate_python(event)


def test_body_that_is_not_json_gets_a_400(llm_server: LLMServer, raw_post: RawPost) -> None:
    status, _, body = raw_post(llm_server, "/v1/chat/completions", b"{not json")
    assert status == 400
    assert "not a JSON object" in json.loads(body)["error"]["message"]
