"""The call is untouched: same bytes on the wire, same objects back; no key or token stored."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from google.genai import errors, types
from google_support import API_KEY, MODEL, TOKEN, answer, client, error, vertex_client

import tracklm
from tracklm.testing import LLMServer, json_cell, predictions
from tracklm.testing.integration_checks import assert_not_stored, assert_wire_identical

CONFIG: Any = {"temperature": 0.3, "top_k": 5, "system_instruction": "be brief"}


def _every_form(server: LLMServer) -> int:
    """One call of each method and form, sync and async; returns how many calls it made."""
    genai_client = client(server)
    models = genai_client.models

    def reply() -> None:
        server.queue_response(200, answer("ok"))

    def stream() -> None:
        server.queue_response(200, chunks=[answer("o", finish=None), answer("k")])

    reply()
    models.generate_content(model=MODEL, contents="plain", config=CONFIG)
    stream()
    list(models.generate_content_stream(model=MODEL, contents=["stream", "parts"], config=CONFIG))
    server.queue_response(200, {"embeddings": [{"values": [0.1, 0.2]}]})
    models.embed_content(
        model="text-embedding-004", contents=["a"], config={"task_type": "CLUSTERING"}
    )
    chat = genai_client.chats.create(model=MODEL, config=CONFIG)
    reply()
    chat.send_message("turn one")
    stream()
    list(chat.send_message_stream("turn two"))

    async def async_forms() -> None:
        aio = genai_client.aio.models
        reply()
        await aio.generate_content(model=MODEL, contents="async", config={"seed": 1})
        stream()
        async for _ in await aio.generate_content_stream(model=MODEL, contents="async stream"):
            pass
        server.queue_response(200, {"embeddings": [{"values": [0.3]}]})
        await aio.embed_content(model="text-embedding-004", contents="async")
        achat = genai_client.aio.chats.create(model=MODEL)
        reply()
        await achat.send_message("async turn")

    asyncio.run(async_forms())
    return 9


def test_requests_on_the_wire_are_the_same_bytes_with_and_without_autolog(
    server: LLMServer,
) -> None:
    assert_wire_identical(server, lambda: _every_form(server))  # no header may vary


def test_the_api_key_and_the_access_token_are_in_no_file_of_the_store_or_the_journal(
    server: LLMServer, tmp_path: Path
) -> None:
    key_in_config = types.HttpOptions(headers={"x-goog-api-key": API_KEY})
    with tracklm.start_run() as run:
        server.queue_response(200, answer("ok"), times=3)
        client(server).models.generate_content(
            model=MODEL,
            contents="hi",
            config=types.GenerateContentConfig(http_options=key_in_config),
        )
        vertex_client(server).models.generate_content(model=MODEL, contents="hi")
        list(client(server).models.generate_content_stream(model=MODEL, contents="hi"))
        server.queue_response(
            400, error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        )
        with contextlib.suppress(errors.ClientError):
            client(server).models.embed_content(model="text-embedding-004", contents="x")

    assert len(predictions(run)) == 4
    assert server.requests[0].header("x-goog-api-key") == API_KEY
    assert server.requests[1].header("authorization") == f"Bearer {TOKEN}"
    assert_not_stored([API_KEY, TOKEN], tmp_path / "store", tmp_path / "journal")


def test_a_run_param_given_twice_keeps_its_first_value_and_each_row_its_own(
    server: LLMServer,
) -> None:
    server.queue_response(200, answer("ok"), times=2)
    models = client(server).models
    with tracklm.start_run() as run:
        for temperature in (0.1, 0.7):
            models.generate_content(model=MODEL, contents="hi", config={"temperature": temperature})

    assert [json_cell(r["params"])["temperature"] for r in predictions(run)] == [0.1, 0.7]
    assert tracklm.get_run(run.info.run_id).data.params["temperature"] == "0.1"
