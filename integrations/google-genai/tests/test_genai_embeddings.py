"""``models.embed_content``: inputs, vector counts and sizes, tokens where the API counts them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from google.genai import errors, types
from google_support import client, error, vertex_client

import tracklm
from tracklm.testing import LLMServer, json_cell, prediction

EMBEDDER = "text-embedding-004"
HAS_EMBED_USAGE = "usage_metadata" in types.EmbedContentResponse.model_fields


def vectors(count: int, size: int) -> list[dict[str, Any]]:
    return [{"values": [round(0.01 * (n + i), 4) for i in range(size)]} for n in range(count)]


def test_an_embedding_row_counts_vectors_and_keeps_the_params_given(server: LLMServer) -> None:
    # models.batchEmbedContents of the Gemini API answers {"embeddings": [{"values": [...]}]}
    server.queue_response(200, {"embeddings": vectors(2, 4)})
    texts = ["What is your name?", "What is your favorite color?"]
    with tracklm.start_run() as run:
        result = client(server).models.embed_content(
            model=EMBEDDER,
            contents=texts,
            config=types.EmbedContentConfig(
                output_dimensionality=4, task_type="SEMANTIC_SIMILARITY"
            ),
        )

    got = prediction(run)
    assert result.embeddings is not None
    assert len(result.embeddings) == 2
    assert server.requests[0].path.endswith(f"models/{EMBEDDER}:batchEmbedContents")
    assert (got["operation"], got["provider"], got["model"]) == (
        "embedding",
        "gcp.gemini",
        EMBEDDER,
    )
    assert json_cell(got["inputs"]) == texts
    assert json_cell(got["outputs"]) == {"embeddings": 2, "dimensions": 4}
    assert json_cell(got["params"]) == {
        "model": EMBEDDER,
        "output_dimensionality": 4,
        "task_type": "SEMANTIC_SIMILARITY",
    }
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (None, None, None)
    assert (got["finish_reason"], got["stream"], got["status"]) == (None, False, "ok")


@pytest.mark.skipif(not HAS_EMBED_USAGE, reason="this google-genai reads no embedding usage")
def test_embedding_tokens_come_from_the_usage_metadata(server: LLMServer) -> None:
    server.queue_response(
        200,
        {
            "embeddings": vectors(1, 3),
            "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
        },
    )
    with tracklm.start_run() as run:
        client(server).models.embed_content(model="gemini-embedding-001", contents="hello there")

    got = prediction(run)
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (5, None, 5)
    assert got["inputs"] == "hello there"


def test_an_async_embedding_is_recorded(server: LLMServer) -> None:
    server.queue_response(200, {"embeddings": vectors(1, 8)})

    async def call() -> int:
        result = await client(server).aio.models.embed_content(model=EMBEDDER, contents="hi")
        assert result.embeddings is not None
        assert result.embeddings[0].values is not None
        return len(result.embeddings[0].values)

    with tracklm.start_run() as run:
        size = asyncio.run(call())

    got = prediction(run)
    assert (got["inputs"], json_cell(got["outputs"])) == (
        "hi",
        {"embeddings": 1, "dimensions": size},
    )
    assert json_cell(got["params"]) == {"model": EMBEDDER}


def test_vertex_ai_embedding_tokens_are_the_vectors_token_counts(server: LLMServer) -> None:
    # the Vertex AI predict endpoint counts tokens per input, in each vector's statistics
    server.queue_response(
        200,
        {
            "predictions": [
                {"embeddings": {"statistics": {"truncated": False, "token_count": n}, **v}}
                for n, v in zip((4, 6), vectors(2, 3), strict=True)
            ],
            "metadata": {"billableCharacterCount": 37},
        },
    )
    with tracklm.start_run() as run:
        vertex_client(server).models.embed_content(model=EMBEDDER, contents=["one", "two"])

    got = prediction(run)
    assert server.requests[0].path.endswith(f"models/{EMBEDDER}:predict")
    assert got["provider"] == "gcp.vertex_ai"
    assert json_cell(got["outputs"]) == {"embeddings": 2, "dimensions": 3}
    assert (got["input_tokens"], got["total_tokens"]) == (10, 10)


def test_an_unknown_embedding_model_gives_an_error_row(server: LLMServer) -> None:
    message = (
        "models/nope is not found for API version v1beta, or is not supported for embedContent."
    )
    server.queue_response(404, error(404, "NOT_FOUND", message))
    with tracklm.start_run() as run, pytest.raises(errors.ClientError) as raised:
        client(server).models.embed_content(model="nope", contents="x")

    got = prediction(run)
    assert raised.value.code == 404
    assert (got["status"], got["operation"], got["outputs"]) == ("error", "embedding", None)
    assert got["error"].startswith("ClientError: 404")
    assert message in got["error"]
