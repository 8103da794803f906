"""The call is untouched: the same bytes on the wire, the same objects back; no key stored."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import anthropic
from anthropic_support import (
    API_KEY,
    JOKE,
    aclient,
    client,
    error,
    events,
    message,
    needs_parse,
    user,
)

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction, predictions
from tracklm.testing.integration_checks import (
    PER_REQUEST_HEADERS,
    assert_not_stored,
    assert_wire_identical,
)


def _every_form(server: LLMServer) -> int:
    """One call of each method and form, sync and async; returns how many calls it made."""

    def answer(streamed: bool = False) -> None:
        if streamed:
            server.queue_response(200, chunks=events("streamed", " answer"))
        else:
            server.queue_response(200, message())

    messages = client(server).messages
    answer()
    messages.create(
        model="m",
        max_tokens=5,
        messages=user("plain"),
        system="be brief",
        stop_sequences=["END"],
        extra_body={"temperature": 0.5, "top_k": 3},
    )
    answer(streamed=True)
    list(messages.create(model="m", max_tokens=5, messages=user("stream"), stream=True))
    answer()
    messages.with_raw_response.create(model="m", max_tokens=5, messages=user("raw")).parse()
    answer()
    with messages.with_streaming_response.create(
        model="m", max_tokens=5, messages=user("lazy")
    ) as response:
        response.read()
    answer(streamed=True)
    with messages.stream(model="m", max_tokens=5, messages=user("helper")) as stream:
        stream.until_done()
    vertex = anthropic.AnthropicVertex(
        region="us-east5", project_id="p", access_token="t", base_url=server.url, max_retries=0
    )
    answer()
    vertex.messages.create(model="v", max_tokens=5, messages=user("vertex"), system="short")
    calls = 6
    if hasattr(messages, "parse"):
        answer()
        messages.parse(model="m", max_tokens=5, messages=user("parse"))
        calls += 1
    beta = getattr(client(server), "beta", None)
    if hasattr(getattr(beta, "messages", None), "create"):
        answer()
        beta.messages.create(model="m", max_tokens=5, messages=user("beta"))  # type: ignore[union-attr]
        calls += 1

    async def async_forms() -> None:
        async with aclient(server) as aio:
            answer()
            await aio.messages.create(model="m", max_tokens=5, messages=user("async"))
            answer(streamed=True)
            async with aio.messages.stream(model="m", max_tokens=5, messages=JOKE) as found:
                await found.until_done()

    asyncio.run(async_forms())
    return calls + 2


def test_requests_on_the_wire_are_the_same_bytes_with_and_without_autolog(
    server: LLMServer,
) -> None:
    assert_wire_identical(server, lambda: _every_form(server), may_vary=PER_REQUEST_HEADERS)


def test_a_messages_generator_reaches_the_server_whole_and_the_row(server: LLMServer) -> None:
    sent: list[Any] = [*user("first"), {"role": "assistant", "content": "ok"}, *user("second")]
    server.queue_response(200, message("from a generator"))
    with tracklm.start_run() as run:
        reply = client(server).messages.create(model="m", max_tokens=5, messages=(m for m in sent))

    assert server.requests[0].json()["messages"] == sent
    assert reply.content[0].text == "from a generator"  # type: ignore[union-attr]
    assert json_cell(prediction(run)["inputs"]) == sent


def test_the_request_kept_holds_copies_of_the_bodys_lists_each_time() -> None:
    from tracklm_anthropic._requests import snapshot

    class Tools(list):  # type: ignore[type-arg]
        pass

    class Marker:  # a kind of value not met before: kept as it is
        pass

    for _ in range(2):  # the first call learns each kind of value, the next ones take it as known
        messages, tools, marker = [*user("hi")], Tools([{"name": "t"}]), Marker()
        body = {"model": "m", "messages": messages, "tools": tools, "stop_sequences": ("a",)}
        request = snapshot({**body, "metadata": marker}, {"top_k": 3})
        messages.append({"role": "assistant", "content": "later"})  # a chat loop's next turn
        tools.append({"name": "later"})

        assert request.body["messages"] == user("hi")
        assert request.body["tools"] == [{"name": "t"}]
        assert request.body["stop_sequences"] == ["a"]
        assert request.body["metadata"] is marker
        assert request.extra == {"top_k": 3}


def test_the_return_values_are_the_sdks_own_objects(server: LLMServer) -> None:
    server.queue_response(200, message("plain"))
    server.queue_response(200, chunks=events("streamed"))
    messages = client(server).messages
    reply = messages.create(model="m", max_tokens=5, messages=JOKE)
    stream = messages.create(model="m", max_tokens=5, messages=JOKE, stream=True)

    assert type(reply) is anthropic.types.Message
    assert isinstance(stream, anthropic.Stream)
    assert type(stream.response).__name__ == "Response"
    assert "event: message_stop" in list(stream.response.iter_lines())
    stream.close()


@needs_parse
def test_parse_without_a_format_returns_the_sdks_parsed_message(server: LLMServer) -> None:
    server.queue_response(200, message("not structured"))
    with tracklm.start_run() as run:
        parsed = client(server).messages.parse(model="m", max_tokens=5, messages=JOKE)

    assert type(parsed).__name__.startswith("ParsedMessage")
    assert prediction(run)["outputs"] == "not structured"


def test_the_api_key_is_in_no_file_of_the_store_or_the_journal(
    server: LLMServer, tmp_path: Path
) -> None:
    server.queue_response(200, message())
    server.queue_response(200, chunks=events("streamed"))
    server.queue_response(401, error("authentication_error", "invalid x-api-key"))
    with tracklm.start_run() as run:
        client(server).messages.create(
            model="m",
            max_tokens=5,
            messages=JOKE,
            extra_headers={"Authorization": f"Bearer {API_KEY}"},
        )
        with client(server).messages.stream(model="m", max_tokens=5, messages=JOKE) as stream:
            stream.until_done()
        with contextlib.suppress(anthropic.AuthenticationError):
            client(server).messages.create(model="m", max_tokens=5, messages=JOKE)

    assert len(predictions(run)) == 3
    # x-api-key, or (current releases) Authorization: Bearer
    sent = [f"{r.header('x-api-key')} {r.header('authorization')}" for r in server.requests]
    assert all(API_KEY in headers for headers in sent)
    assert_not_stored([API_KEY], tmp_path)
