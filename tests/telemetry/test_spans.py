"""The span of each call: name, kind, GenAI attributes, status, parent, and the row's ids."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import openai
import pandas as pd
import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import tracklm
from tracklm.testing import LLMServer

from .conftest import Otel, client_for, hex_ids, rows

SAY_HI = [{"role": "user", "content": "hello there"}]
SAY_TEST = [{"role": "user", "content": "Say this is a test"}]


def test_chat_span_has_the_genai_name_kind_and_attributes(otel: Otel, server: LLMServer) -> None:
    client = client_for(server)
    with tracklm.start_run() as run, otel.tracer.start_as_current_span("app") as app:
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=SAY_HI,
            temperature=0.2,
            top_p=0.9,
            max_tokens=50,
            seed=7,
            stop=["\n\n"],
            presence_penalty=0.5,
            extra_body={"top_k": 40},
        )
    row = rows(run.info.run_id).iloc[0]

    (span,) = otel.tracklm_spans()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": row["provider"],
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40.0,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.seed": 7,
        "gen_ai.request.presence_penalty": 0.5,
        "gen_ai.request.stop_sequences": ("\n\n",),
        "openai.api.type": "chat_completions",
        "gen_ai.response.id": reply.id,
        "gen_ai.response.model": reply.model,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 2,
        "gen_ai.usage.output_tokens": 3,
    }
    assert isinstance(attributes["gen_ai.request.top_k"], float)  # a double, as specified
    assert isinstance(attributes["gen_ai.request.max_tokens"], int)
    # the user's span is the parent, and the row names the span
    assert span.parent is not None
    assert span.parent.span_id == app.get_span_context().span_id
    assert (row["trace_id"], row["span_id"]) == hex_ids(span)
    assert row["trace_id"] == format(app.get_span_context().trace_id, "032x")
    # the span lasts as long as the call the row measured
    assert span.start_time is not None
    assert span.end_time is not None
    duration_ms = (span.end_time - span.start_time) / 1e6
    assert duration_ms == pytest.approx(row["latency_ms"], abs=0.01)


def test_a_call_with_no_current_span_starts_a_trace(otel: Otel, server: LLMServer) -> None:
    with tracklm.start_run() as run:
        client_for(server).chat.completions.create(model="gpt-4o-mini", messages=SAY_HI)
    row = rows(run.info.run_id).iloc[0]

    (span,) = otel.tracklm_spans()
    assert span.parent is None
    assert (row["trace_id"], row["span_id"]) == hex_ids(span)


def test_http_spans_made_inside_the_sdk_call_nest_under_the_call_span(
    otel: Otel, server: LLMServer
) -> None:
    class SpanningTransport(httpx2.BaseTransport):
        """Like an HTTP client instrumentation: a span around each request."""

        def __init__(self) -> None:
            self.inner = httpx2.HTTPTransport()

        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            with otel.tracer.start_as_current_span(
                f"POST {request.url.path}", kind=SpanKind.CLIENT
            ):
                return self.inner.handle_request(request)

        def close(self) -> None:
            self.inner.close()

    client = client_for(server, http_client=httpx2.Client(transport=SpanningTransport()))
    with tracklm.start_run() as run, otel.tracer.start_as_current_span("app") as app:
        client.chat.completions.create(model="gpt-4o-mini", messages=SAY_HI)
    rows(run.info.run_id)

    (call,) = otel.tracklm_spans()
    (http,) = [s for s in otel.spans() if s.name == "POST /v1/chat/completions"]
    assert http.parent is not None
    assert call.parent is not None
    assert http.parent.span_id == call.context.span_id  # type: ignore[union-attr]
    assert call.parent.span_id == app.get_span_context().span_id
    assert {s.context.trace_id for s in (http, call)} == {app.get_span_context().trace_id}  # type: ignore[union-attr]


def test_stream_span_is_not_current_while_the_stream_is_read(otel: Otel, server: LLMServer) -> None:
    client = client_for(server)
    current_while_reading: list[trace.Span] = []
    with tracklm.start_run() as run, otel.tracer.start_as_current_span("app") as app:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=SAY_HI,
            stream=True,
            stream_options={"include_usage": True},
        )
        assert trace.get_current_span() is app
        for _chunk in stream:
            current_while_reading.append(trace.get_current_span())
        assert trace.get_current_span() is app
    row = rows(run.info.run_id).iloc[0]

    assert current_while_reading
    assert all(s is app for s in current_while_reading)
    (span,) = otel.tracklm_spans()
    assert span.name == "chat gpt-4o-mini"
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 2
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert attributes["gen_ai.response.time_to_first_chunk"] == pytest.approx(
        row["ttft_ms"] / 1000, abs=1e-5
    )
    assert span.parent is not None
    assert span.parent.span_id == app.get_span_context().span_id
    assert (row["trace_id"], row["span_id"]) == hex_ids(span)
    # the span ends when the stream does, not when the request returned
    assert span.start_time is not None
    assert span.end_time is not None
    assert (span.end_time - span.start_time) / 1e6 == pytest.approx(row["latency_ms"], abs=0.01)
    assert row["latency_ms"] >= row["ttft_ms"]


def test_replayed_stream_span(otel: Otel, cassette: Callable[[str], Path]) -> None:
    with (
        LLMServer(cassette("test_chat_completion_streaming")) as server,
        tracklm.start_run() as run,
    ):
        stream = client_for(server).chat.completions.create(
            model="gpt-4", messages=SAY_TEST, stream=True, stream_options={"include_usage": True}
        )
        with stream:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    row = rows(run.info.run_id).iloc[0]

    assert text == '"This is a test."'
    (span,) = otel.tracklm_spans()
    attributes = dict(span.attributes or {})
    assert span.name == "chat gpt-4"
    assert attributes["gen_ai.response.id"] == "chatcmpl-ASYMZ4oSykiIFK4lXLReDiKyAjsQl"
    assert attributes["gen_ai.response.model"] == "gpt-4-0613"
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 0
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 0
    assert (row["trace_id"], row["span_id"]) == hex_ids(span)


def test_embeddings_span(otel: Otel, server: LLMServer) -> None:
    with tracklm.start_run() as run:
        client_for(server).embeddings.create(
            model="text-embedding-3-small", input="hello world", dimensions=8
        )
    row = rows(run.info.run_id).iloc[0]

    (span,) = otel.tracklm_spans()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.request.model"] == "text-embedding-3-small"
    assert attributes["gen_ai.embeddings.dimension.count"] == 8
    assert attributes["gen_ai.usage.input_tokens"] == 2
    assert "gen_ai.usage.output_tokens" not in attributes
    assert "openai.api.type" not in attributes
    assert row["operation"] == "embedding"  # the table keeps tracklm's own name
    assert (row["trace_id"], row["span_id"]) == hex_ids(span)


def test_replayed_embeddings_span(otel: Otel, cassette: Callable[[str], Path]) -> None:
    with (
        LLMServer(cassette("test_embeddings_with_dimensions")) as server,
        tracklm.start_run() as run,
    ):
        client_for(server).embeddings.create(
            model="text-embedding-3-small",
            input="This is a test for embeddings with dimensions",
            dimensions=512,
        )
    rows(run.info.run_id)

    (span,) = otel.tracklm_spans()
    attributes = dict(span.attributes or {})
    assert span.name == "embeddings text-embedding-3-small"
    assert attributes["gen_ai.embeddings.dimension.count"] == 512
    assert attributes["gen_ai.response.model"] == "text-embedding-3-small"
    assert isinstance(attributes["gen_ai.usage.input_tokens"], int)


def test_404_sets_error_type_and_error_status(otel: Otel, cassette: Callable[[str], Path]) -> None:
    with (
        LLMServer(cassette("test_chat_completion_404")) as server,
        tracklm.start_run() as run,
        otel.tracer.start_as_current_span("app") as app,
        pytest.raises(openai.NotFoundError) as raised,
    ):
        client_for(server).chat.completions.create(
            model="this-model-does-not-exist", messages=SAY_TEST
        )
    row = rows(run.info.run_id).iloc[0]

    (span,) = otel.tracklm_spans()
    assert span.name == "chat this-model-does-not-exist"
    assert span.status.status_code is StatusCode.ERROR
    assert "does not exist" in (span.status.description or "")
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == type(raised.value).__name__ == "NotFoundError"
    assert "gen_ai.response.id" not in attributes
    assert span.parent is not None
    assert span.parent.span_id == app.get_span_context().span_id
    assert row["status"] == "error"
    assert (row["trace_id"], row["span_id"]) == hex_ids(span)


def test_completion_and_responses_use_the_conventions_operation_names(
    otel: Otel, server: LLMServer
) -> None:
    client = client_for(server)
    with tracklm.start_run() as run:
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hello there")
        client.responses.create(model="gpt-4o-mini", input="hello there")
    table = rows(run.info.run_id)

    completion, response = sorted(otel.tracklm_spans(), key=lambda s: s.start_time or 0)
    assert completion.name == "text_completion gpt-3.5-turbo-instruct"
    assert dict(completion.attributes or {})["gen_ai.operation.name"] == "text_completion"
    assert response.name == "chat gpt-4o-mini"
    assert dict(response.attributes or {})["gen_ai.operation.name"] == "chat"
    assert dict(response.attributes or {})["openai.api.type"] == "responses"
    assert list(table["operation"]) == ["completion", "responses"]


def test_async_call_span_nests_and_rows_match(otel: Otel, server: LLMServer) -> None:
    async def calls() -> None:
        async with openai.AsyncOpenAI(
            api_key="test", base_url=server.openai_base_url, max_retries=0
        ) as client:
            await client.chat.completions.create(model="gpt-4o-mini", messages=SAY_HI)
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=SAY_HI, stream=True
            )
            async for _chunk in stream:
                assert trace.get_current_span() is app

    with tracklm.start_run() as run, otel.tracer.start_as_current_span("app") as app:
        asyncio.run(calls())
    table = rows(run.info.run_id)

    spans = sorted(otel.tracklm_spans(), key=lambda s: s.start_time or 0)
    assert len(spans) == 2
    for span, (_, row) in zip(spans, table.iterrows(), strict=True):
        assert span.parent is not None
        assert span.parent.span_id == app.get_span_context().span_id
        assert (row["trace_id"], row["span_id"]) == hex_ids(span)


def test_suppress_instrumentation_means_no_span(otel: Otel, server: LLMServer) -> None:
    key: Any = otel_context._SUPPRESS_INSTRUMENTATION_KEY
    client = client_for(server)
    with tracklm.start_run() as run:
        token = otel_context.attach(otel_context.set_value(key, True))
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=SAY_HI)
        finally:
            otel_context.detach(token)
        client.chat.completions.create(model="gpt-4o-mini", messages=SAY_HI)
    table = rows(run.info.run_id)

    assert len(table) == 2  # tracklm still records the call
    assert pd.isna(table.iloc[0]["trace_id"])
    assert pd.isna(table.iloc[0]["span_id"])
    (span,) = otel.tracklm_spans()  # only the call made outside the suppressed context
    assert (table.iloc[1]["trace_id"], table.iloc[1]["span_id"]) == hex_ids(span)
    points = otel.histogram_points()["gen_ai.client.operation.duration"][1]
    assert sum(p.count for p in points) == 1  # nor a metric
