"""Each call is an OpenTelemetry span after the GenAI semantic conventions."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest
from anthropic_support import JOKE, SONNET_35, Replay, client, events
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

import tracklm
from tracklm.testing import LLMServer


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """An OpenTelemetry SDK for one test; the global provider is "never set" again after."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


def _finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    assert tracklm.flush(timeout=30).ok  # spans end on tracklm's thread, with the row
    return [s for s in exporter.get_finished_spans() if s.instrumentation_scope.name == "tracklm"]


def test_a_streamed_call_is_a_chat_span_with_the_anthropic_provider_and_cache_tokens(
    replay: Replay, spans: InMemorySpanExporter
) -> None:
    server = replay("prompt_caching__test_anthropic_prompt_caching_stream_legacy")
    with tracklm.start_run():
        stream = client(server).messages.create(
            model=SONNET_35,
            max_tokens=1024,
            messages=JOKE,
            stop_sequences=["END"],
            stream=True,
            extra_body={"temperature": 0.2, "top_k": 7},
        )
        for _ in stream:
            pass

    (span,) = _finished(spans)
    assert span.name == f"chat {SONNET_35}"
    assert span.kind == trace.SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert {k: v for k, v in attributes.items() if k != "gen_ai.response.time_to_first_chunk"} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": SONNET_35,
        "gen_ai.request.max_tokens": 1024,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_k": 7,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.stream": True,
        "gen_ai.response.id": "msg_017FfRkh9PCC8YbjnhDMrPuK",
        "gen_ai.response.model": SONNET_35,
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 4 + 1165,
        "gen_ai.usage.output_tokens": 201,
        "gen_ai.usage.cache_read.input_tokens": 0,
    }
    assert attributes["gen_ai.response.time_to_first_chunk"] > 0


def test_a_failed_vertex_call_is_an_error_span_of_vertex_ai(
    server: LLMServer, spans: InMemorySpanExporter
) -> None:
    server.queue_response(200, chunks=events("cut", " short"), cut_after=3)
    vertex = anthropic.AnthropicVertex(
        region="us-east5", project_id="p", access_token="t", base_url=server.url, max_retries=0
    )
    with tracklm.start_run(), pytest.raises(Exception, match=r"incomplete|peer closed"):
        list(vertex.messages.create(model="claude-v", max_tokens=5, messages=JOKE, stream=True))

    (span,) = _finished(spans)
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert attributes["error.type"] in ("RemoteProtocolError", "APIConnectionError")
    assert span.status.status_code == trace.StatusCode.ERROR
