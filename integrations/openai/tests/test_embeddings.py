"""Embeddings: inputs, vector counts, tokens, and params as the caller gave them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai_support import aclient, client

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction

Replay = Callable[..., LLMServer]


def test_an_embedding_row_counts_vectors_and_input_tokens(replay: Replay) -> None:
    server = replay("test_embeddings_with_dimensions")
    with tracklm.start_run() as run:
        result = client(server).embeddings.create(
            model="text-embedding-3-small",
            input="This is a test for embeddings with dimensions",
            dimensions=512,
        )

    got = prediction(run)
    assert len(result.data[0].embedding) == 512
    assert (got["operation"], got["response_model"]) == ("embedding", "text-embedding-3-small")
    assert got["inputs"] == "This is a test for embeddings with dimensions"
    assert json_cell(got["outputs"]) == {"embeddings": 1, "dimensions": 512}
    assert json_cell(got["params"]) == {"model": "text-embedding-3-small", "dimensions": 512}
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (8, None, 8)
    assert (got["finish_reason"], got["stream"], got["status"]) == (None, False, "ok")


def test_a_batch_of_inputs_is_recorded_as_a_list(replay: Replay) -> None:
    server = replay("test_embeddings_with_batch_input")
    texts = [f"This is the {n} test string for embeddings" for n in ("first", "second", "third")]
    with tracklm.start_run() as run:
        client(server).embeddings.create(model="text-embedding-3-small", input=texts)

    got = prediction(run)
    assert json_cell(got["inputs"]) == texts
    assert json_cell(got["outputs"])["embeddings"] == 3


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ({}, None),  # the SDK's own "base64" request is not a param
        ({"encoding_format": "base64"}, "base64"),
        ({"encoding_format": "float"}, "float"),
    ],
    ids=["sdk-default", "base64", "float"],
)
def test_encoding_format_is_a_param_only_when_the_caller_gave_it(
    server: LLMServer, given: dict[str, Any], recorded: str | None
) -> None:
    with tracklm.start_run() as run:
        client(server).embeddings.create(model="e", input="hi", **given)

    assert json_cell(prediction(run)["params"]).get("encoding_format") == recorded
    sent = server.requests[0].json()
    if not given:  # the SDK did ask for base64: the params differ from the wire on purpose
        assert sent["encoding_format"] == "base64"


def test_async_embeddings_leave_the_sdks_encoding_format_out_too(server: LLMServer) -> None:
    async def call() -> list[float]:
        async with aclient(server) as aio:
            return (await aio.embeddings.create(model="e", input="hi")).data[0].embedding

    with tracklm.start_run() as run:
        vector = asyncio.run(call())

    got = prediction(run)
    assert json_cell(got["params"]) == {"model": "e"}
    assert json_cell(got["outputs"]) == {"embeddings": 1, "dimensions": len(vector)}


def test_an_unknown_embedding_model_gives_an_error_row(replay: Replay) -> None:
    server = replay("test_embeddings_model_not_found")
    with tracklm.start_run() as run, pytest.raises(openai.NotFoundError):
        client(server).embeddings.create(
            model="non-existent-embedding-model",
            input="This is a test for embeddings with bad model",
        )

    got = prediction(run)
    assert (got["status"], got["operation"]) == ("error", "embedding")
    assert "non-existent-embedding-model" in got["error"]
