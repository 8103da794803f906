"""API errors: the SDK's own exception object is re-raised, and the row says why."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from google.genai import errors
from google_support import MODEL, client, error

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction

ERRORS = [
    (400, "INVALID_ARGUMENT", 'Invalid JSON payload received. Unknown name "temprature".'),
    (404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta."),
    (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
]


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """The ``APIError`` objects the SDK itself makes during the test."""
    made: list[BaseException] = []
    init = errors.APIError.__init__

    def spy(self: errors.APIError, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(errors.APIError, "__init__", spy)
    return made


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("code", "status", "message"), ERRORS, ids=["400", "404", "429"])
def test_an_api_error_is_the_sdks_own_object_and_its_row_says_why(
    server: LLMServer,
    created: list[BaseException],
    is_async: bool,
    code: int,
    status: str,
    message: str,
) -> None:
    server.queue_response(code, error(code, status, message))
    genai_client = client(server)

    async def call_async() -> None:
        await genai_client.aio.models.generate_content(model=MODEL, contents="hi")

    def call() -> None:
        genai_client.models.generate_content(model=MODEL, contents="hi")

    with tracklm.start_run() as run, pytest.raises(errors.ClientError) as raised:
        asyncio.run(call_async()) if is_async else call()

    assert created == [raised.value]
    assert (raised.value.code, raised.value.status) == (code, status)
    got = prediction(run)
    assert (got["status"], got["model"], got["stream"]) == ("error", MODEL, False)
    assert got["error"].startswith(f"ClientError: {code} {status}")
    assert message in got["error"]
    assert (got["outputs"], got["response_model"], got["input_tokens"]) == (None, None, None)
    assert json_cell(got["inputs"]) == [{"role": "user", "content": "hi"}]


def test_a_stream_rejected_by_the_api_fails_at_its_first_chunk(
    server: LLMServer, created: list[BaseException]
) -> None:
    server.queue_response(429, error(429, "RESOURCE_EXHAUSTED", "Quota exceeded."))
    with tracklm.start_run() as run:
        stream = client(server).models.generate_content_stream(model=MODEL, contents="hi")
        with pytest.raises(errors.ClientError) as raised:
            next(stream)

    assert created == [raised.value]
    got = prediction(run)
    assert (got["status"], got["stream"], got["outputs"], got["ttft_ms"]) == (
        "error",
        True,
        None,
        None,
    )
    assert got["error"].startswith("ClientError: 429 RESOURCE_EXHAUSTED")


def test_an_async_stream_rejected_by_the_api_gives_one_error_row(
    server: LLMServer, created: list[BaseException]
) -> None:
    server.queue_response(500, error(500, "INTERNAL", "An internal error has occurred."))

    async def call() -> None:
        stream = await client(server).aio.models.generate_content_stream(model=MODEL, contents="hi")
        async for _ in stream:
            pass

    with tracklm.start_run() as run, pytest.raises(errors.ServerError) as raised:
        asyncio.run(call())

    assert created == [raised.value]
    got = prediction(run)
    assert (got["status"], got["stream"]) == ("error", True)
    assert got["error"].startswith("ServerError: 500 INTERNAL")
