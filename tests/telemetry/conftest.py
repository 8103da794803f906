"""An OpenTelemetry SDK (in-memory span exporter and metric reader) for the telemetry tests.

OpenTelemetry's global tracer and meter providers can be set once per process, and the other
test folders expect none. So the providers are set for this package only and the globals are
put back to "never set" after its last test, the way ``opentelemetry-test-utils`` resets them
(``reset_trace_globals`` / ``reset_metrics_globals``). Should pytest run this package's tests
in several stretches, each stretch sets fresh providers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pandas as pd
import pytest
from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    HistogramDataPoint,
    InMemoryMetricReader,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

import tracklm
from tracklm.autolog import set_strict
from tracklm.testing import LLMServer

_FIXTURE_DIRS = [Path(__file__).resolve().parents[1] / "fixtures", Path("/work/shared/fixtures")]


def reset_otel_globals() -> None:
    """Forget the global tracer and meter providers (as ``opentelemetry-test-utils`` does)."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None
    metrics_internal._PROXY_METER_PROVIDER = metrics_internal._ProxyMeterProvider()


@dataclass
class Otel:
    """The SDK set up for the package: what was exported, and the tracer of "the app"."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer: trace.Tracer

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def tracklm_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.instrumentation_scope.name == "tracklm"]

    def histogram_points(self) -> dict[str, tuple[str, list[HistogramDataPoint]]]:
        """metric name -> (unit, data points), recorded since the last call (delta)."""
        found: dict[str, tuple[str, list[HistogramDataPoint]]] = {}
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else []:
            for scope_metrics in resource_metrics.scope_metrics:
                if scope_metrics.scope.name != "tracklm":
                    continue
                for metric in scope_metrics.metrics:
                    points = [
                        p for p in metric.data.data_points if isinstance(p, HistogramDataPoint)
                    ]
                    _unit, known = found.setdefault(metric.name, (metric.unit or "", []))
                    known.extend(points)
        return found


@pytest.fixture(scope="package")
def _otel_sdk() -> Iterator[Otel]:
    reset_otel_globals()
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})
    meter_provider = MeterProvider(metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    try:
        yield Otel(exporter, reader, tracer_provider.get_tracer("the-app"))
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()
        reset_otel_globals()


@pytest.fixture
def otel(_otel_sdk: Otel, monkeypatch: pytest.MonkeyPatch) -> Iterator[Otel]:
    """The SDK, emptied of earlier tests' spans and metrics; autolog on, in strict mode."""
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    _otel_sdk.exporter.clear()
    _otel_sdk.histogram_points()  # drain (delta temporality)
    set_strict(True)
    tracklm.autolog()
    try:
        yield _otel_sdk
    finally:
        tracklm.autolog(disable=True)
        set_strict(False)


@pytest.fixture
def cassette() -> Callable[[str], Path]:
    """``cassette("test_chat_completion_404")`` -> the path of that OpenAI cassette."""
    for base in _FIXTURE_DIRS:
        folder = base / "openai" / "cassettes"
        if folder.is_dir():
            break
    else:
        pytest.skip("no recorded cassettes")

    def find(name: str) -> Path:
        path = folder / f"{name}.yaml"
        assert path.is_file(), path
        return path

    return find


@pytest.fixture
def server() -> Iterator[LLMServer]:
    """A local LLM server in echo mode."""
    with LLMServer(echo=True) as running:
        yield running


def client_for(server: LLMServer, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", base_url=server.openai_base_url, max_retries=0, **kwargs)


def rows(run_id: str) -> pd.DataFrame:
    """The run's predictions, once everything logged so far is written."""
    result = tracklm.flush(timeout=30)
    assert result.pending == 0, result
    return tracklm.load_table("predictions.csv", run_ids=[run_id])


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    assert span.context is not None
    return format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")
