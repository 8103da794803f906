"""The call is untouched: same bytes on the wire, same arguments, same objects back; no key
stored."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from openai_support import API_KEY, HAS_RESPONSES, aclient, chat_helpers, client, user

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions
from tracklm.testing.integration_checks import (
    PER_REQUEST_HEADERS,
    assert_not_stored,
    assert_wire_identical,
)


def _every_form(server: LLMServer) -> int:
    """One call of each method and form, sync and async; returns how many calls it made."""
    sync, chat = client(server), client(server).chat.completions
    chat.create(model="m", messages=user("plain"), temperature=0.5, extra_body={"top_k": 3})
    list(chat.create(model="m", messages=user("stream"), stream=True))
    chat.with_raw_response.create(model="m", messages=user("raw")).parse()
    with chat.with_streaming_response.create(model="m", messages=user("lazy")) as response:
        response.read()
    with chat_helpers(sync).stream(model="m", messages=user("helper")) as stream:
        stream.until_done()
    chat_helpers(sync).parse(model="m", messages=user("parse"))
    sync.completions.create(model="i", prompt="legacy", max_tokens=3)
    sync.embeddings.create(model="e", input=["a", "b"])
    calls = 8
    if HAS_RESPONSES:
        sync.responses.create(model="r", input="responses", instructions="be brief")
        list(sync.responses.create(model="r", input="responses stream", stream=True))
        calls += 2

    async def async_forms() -> None:
        async with aclient(server) as aio:
            await aio.chat.completions.create(model="m", messages=user("async"), seed=1)
            stream = await aio.chat.completions.create(
                model="m", messages=user("async stream"), stream=True
            )
            async for _ in stream:
                pass
            await aio.embeddings.create(model="e", input="async", encoding_format="float")

    asyncio.run(async_forms())
    return calls + 3


def test_requests_on_the_wire_are_the_same_bytes_with_and_without_autolog(
    server: LLMServer,
) -> None:
    # may vary: none, for the openai releases tested
    logged = assert_wire_identical(
        server, lambda: _every_form(server), may_vary=PER_REQUEST_HEADERS
    )
    assert all("stream_options" not in r.json() for r in logged)


def test_a_messages_generator_reaches_the_server_whole(server: LLMServer) -> None:
    messages: list[Any] = [{"role": "system", "content": "be brief"}, *user("from a generator")]
    with tracklm.start_run() as run:
        reply = client(server).chat.completions.create(model="m", messages=(m for m in messages))

    assert server.requests[0].json()["messages"] == messages
    assert reply.choices[0].message.content == "echo: from a generator"
    assert json_cell(prediction(run)["inputs"]) == messages


def test_the_return_value_is_the_sdks_own_object(server: LLMServer) -> None:
    chat = client(server).chat.completions
    reply = chat.create(model="m", messages=user("hi"))
    stream = chat.create(model="m", messages=user("hi"), stream=True)

    assert type(reply) is ChatCompletion
    assert reply.choices[0].message.content == "echo: hi"
    assert isinstance(stream, openai.Stream)
    assert type(stream.response).__name__ == "Response"
    lines = list(stream.response.iter_lines())
    assert "data: [DONE]" in lines
    stream.close()


def test_the_api_key_is_in_no_file_of_the_store_or_the_journal(
    server: LLMServer, tmp_path: Path
) -> None:
    azure = openai.AzureOpenAI(
        api_key=API_KEY, api_version="2024-06-01", azure_endpoint=server.url, max_retries=0
    )
    with tracklm.start_run() as run:
        client(server).chat.completions.create(
            model="m",
            messages=user("hi"),
            extra_headers={"Authorization": f"Bearer {API_KEY}", "X-Api-Key": API_KEY},
        )
        azure.chat.completions.create(model="deployment", messages=user("hi"))
        list(
            client(server, organization="org-1").chat.completions.create(
                model="m", messages=user("s"), stream=True
            )
        )
        server.queue_response(401, {"error": {"message": "Incorrect API key", "code": "401"}})
        with contextlib.suppress(openai.AuthenticationError):
            client(server).embeddings.create(model="e", input="x")

    assert len(predictions(run)) == 4
    assert {r.header("authorization") for r in server.requests[:1]} == {f"Bearer {API_KEY}"}
    assert server.requests[1].header("api-key") == API_KEY
    assert_not_stored([API_KEY], tmp_path / "store", tmp_path / "journal")


def test_a_key_changed_on_a_client_after_its_first_call_is_masked_too(
    server: LLMServer,
) -> None:
    chat = client(server)
    new_key = "sk-rotated-0123456789abcdef"
    with tracklm.start_run() as run:
        chat.chat.completions.create(model="m", messages=user("hi"))
        chat.api_key = new_key  # a rotated credential, set on the same client
        server.queue_response(401, {"error": {"message": f"Incorrect API key: {new_key}"}})
        with contextlib.suppress(openai.AuthenticationError):
            chat.chat.completions.create(model="m", messages=user("again"))
        chat._custom_headers["X-Api-Key"] = "hdr-0123456789"  # changed in place
        server.queue_response(401, {"error": {"message": "Bad header: hdr-0123456789"}})
        with contextlib.suppress(openai.AuthenticationError):
            chat.chat.completions.create(model="m", messages=user("third"))

    errors = [row["error"] for row in predictions(run)]
    assert errors[0] is None
    assert new_key not in errors[1]
    assert "Incorrect API key: [REDACTED]" in errors[1]
    assert "hdr-0123456789" not in errors[2]
    assert "[REDACTED]" in errors[2]


def test_a_run_param_given_twice_keeps_its_first_value_and_each_row_its_own(
    server: LLMServer,
) -> None:
    chat = client(server).chat.completions
    with tracklm.start_run() as run:
        for temperature in (0.1, 0.7):
            chat.create(model="m", messages=user("hi"), temperature=temperature)

    temperatures: list[Any] = [json_cell(r["params"])["temperature"] for r in predictions(run)]
    assert temperatures == [0.1, 0.7]
    assert tracklm.get_run(run.info.run_id).data.params["temperature"] == "0.1"
