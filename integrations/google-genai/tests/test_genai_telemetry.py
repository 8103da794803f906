"""Each call is an OpenTelemetry span after the GenAI semantic conventions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google_support import HAS_RESPONSE_ID, MODEL, answer, client, usage, vertex_client
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracklm
from tracklm.testing import LLMServer, prediction, predictions


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """An OpenTelemetry SDK for this test only (the global provider is left alone)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    yield exporter
    provider.shutdown()


def _only(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = [
        s for s in exporter.get_finished_spans() if s.instrumentation_scope.name == "tracklm"
    ]
    return span


def test_a_gemini_api_call_is_a_gcp_gemini_span(
    server: LLMServer, spans: InMemorySpanExporter
) -> None:
    server.queue_response(200, answer("ok", tokens=usage(5, 2)))
    config = {"temperature": 0.4, "top_k": 8, "max_output_tokens": 32, "stop_sequences": ["END"]}
    with tracklm.start_run() as run:
        client(server).models.generate_content(model=MODEL, contents="hi", config=config)

    got = prediction(run)  # flushed: the span is ended on tracklm's thread with the row
    span = _only(spans)
    assert span.name == f"generate_content {MODEL}"
    assert span.kind == trace.SpanKind.CLIENT
    expected = {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.temperature": 0.4,
        "gen_ai.request.top_k": 8.0,
        "gen_ai.request.max_tokens": 32,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.response.model": "gemini-2.5-flash-001",
        "gen_ai.response.id": "resp-tracklm-1",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 2,
    }
    if not HAS_RESPONSE_ID:
        del expected["gen_ai.response.id"]
    assert dict(span.attributes or {}) == expected
    context = span.get_span_context()
    assert (got["trace_id"], got["span_id"]) == (
        format(context.trace_id, "032x"),
        format(context.span_id, "016x"),
    )


def test_a_vertex_ai_call_is_a_gcp_vertex_ai_span(
    server: LLMServer, spans: InMemorySpanExporter
) -> None:
    server.queue_response(200, answer("ok"))
    with tracklm.start_run() as run:
        vertex = vertex_client(server)
        vertex.models.generate_content(model=MODEL, contents="hi")

    predictions(run)
    span = _only(spans)
    assert (span.attributes or {})["gen_ai.provider.name"] == "gcp.vertex_ai"
