"""The GenAI client metrics: names, units, attributes and the conventions' bucket boundaries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openai
import pytest
from opentelemetry import context as otel_context

import tracklm
from tracklm.testing import LLMServer

from .conftest import Otel, client_for, rows

SAY_HI = [{"role": "user", "content": "hello there"}]
# the ExplicitBucketBoundaries the GenAI metrics conventions give
DURATION_BOUNDS = [0.01 * 2**i for i in range(14)]  # 0.01, 0.02, 0.04 ... 81.92 s
TOKEN_BOUNDS = [4**i for i in range(14)]  # 1, 4, 16 ... 67108864 tokens


def test_metric_names_units_attributes_and_buckets(
    otel: Otel, server: LLMServer, cassette: Callable[[str], Path]
) -> None:
    client = client_for(server)
    with tracklm.start_run() as run:
        client.chat.completions.create(model="gpt-4o-mini", messages=SAY_HI)
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=SAY_HI,
            stream=True,
            stream_options={"include_usage": True},
        )
        for _chunk in stream:
            pass
        client.embeddings.create(model="text-embedding-3-small", input="hello world")
        with (
            LLMServer(cassette("test_chat_completion_404")) as failing,
            pytest.raises(openai.NotFoundError),
        ):
            client_for(failing).chat.completions.create(
                model="this-model-does-not-exist", messages=SAY_HI
            )
    table = rows(run.info.run_id)
    provider = table.iloc[0]["provider"]
    found = otel.histogram_points()

    assert set(found) == {
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk",
    }
    unit, durations = found["gen_ai.client.operation.duration"]
    assert unit == "s"
    chat = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
    }
    embeddings = {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": "text-embedding-3-small",
        "gen_ai.response.model": "text-embedding-3-small",
    }
    failed = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": table.iloc[3]["provider"],
        "gen_ai.request.model": "this-model-does-not-exist",
        "error.type": "NotFoundError",
    }
    by_attributes = {frozenset(dict(p.attributes or {}).items()): p for p in durations}
    assert set(by_attributes) == {frozenset(a.items()) for a in (chat, embeddings, failed)}
    assert by_attributes[frozenset(chat.items())].count == 2
    assert by_attributes[frozenset(chat.items())].sum == pytest.approx(
        sum(table["latency_ms"][:2]) / 1000,
        abs=2e-6,  # the row keeps µs
    )
    for point in durations:
        assert list(point.explicit_bounds) == DURATION_BOUNDS

    unit, tokens = found["gen_ai.client.token.usage"]
    assert unit == "{token}"
    token_sums = {
        (
            dict(p.attributes or {})["gen_ai.operation.name"],
            dict(p.attributes or {})["gen_ai.token.type"],
        ): (p.count, p.sum)
        for p in tokens
    }
    assert token_sums == {
        ("chat", "input"): (2, 4),  # the failed call reported no tokens: nothing recorded
        ("chat", "output"): (2, 6),
        ("embeddings", "input"): (1, 2),
    }
    for point in tokens:
        assert list(point.explicit_bounds) == TOKEN_BOUNDS
        assert "error.type" not in dict(point.attributes or {})

    unit, first_chunks = found["gen_ai.client.operation.time_to_first_chunk"]
    assert unit == "s"
    (point,) = first_chunks  # the stream only
    assert point.count == 1
    assert point.sum == pytest.approx(table.iloc[1]["ttft_ms"] / 1000, abs=1e-6)
    assert dict(point.attributes or {}) == chat
    assert list(point.explicit_bounds) == DURATION_BOUNDS


def test_duration_exemplars_point_at_the_call_span(otel: Otel, server: LLMServer) -> None:
    with tracklm.start_run() as run, otel.tracer.start_as_current_span("app"):
        client_for(server).chat.completions.create(model="gpt-4o-mini", messages=SAY_HI)
    rows(run.info.run_id)

    (span,) = otel.tracklm_spans()
    (point,) = otel.histogram_points()["gen_ai.client.operation.duration"][1]
    assert span.context is not None
    assert [(e.trace_id, e.span_id) for e in point.exemplars] == [
        (span.context.trace_id, span.context.span_id)
    ]


def test_suppressed_calls_record_no_metric(otel: Otel, server: LLMServer) -> None:
    key = otel_context._SUPPRESS_INSTRUMENTATION_KEY
    with tracklm.start_run() as run:
        token = otel_context.attach(otel_context.set_value(key, True))
        try:
            client_for(server).chat.completions.create(model="gpt-4o-mini", messages=SAY_HI)
        finally:
            otel_context.detach(token)
    assert len(rows(run.info.run_id)) == 1
    assert otel.histogram_points() == {}
    assert otel.tracklm_spans() == []
