"""Send tracklm's spans and metrics to your tracing backend over OTLP/HTTP.

tracklm makes an OpenTelemetry span (and duration and token-usage metrics) for every LLM call
``tracklm.autolog()`` records, through ``opentelemetry-api`` only. They go wherever the
application's OpenTelemetry SDK exports: here an OTLP/HTTP exporter, which an OpenTelemetry
Collector, Jaeger, Grafana Tempo, Honeycomb, Datadog and most other backends take in.

Run it (offline: without ``OPENAI_API_KEY`` the calls go to tracklm's local test server)::

    pip install tracklm tracklm-openai opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
    docker run --rm -p 4318:4318 -p 16686:16686 jaegertracing/all-in-one   # or a Collector
    python examples/otlp_export.py         # then open http://localhost:16686

``OTEL_EXPORTER_OTLP_ENDPOINT`` says where to send (default ``http://localhost:4318``; the
exporters add ``/v1/traces`` and ``/v1/metrics``), ``OTEL_EXPORTER_OTLP_HEADERS`` adds headers
such as a backend's API key, ``OTEL_SERVICE_NAME`` names the service. With ``OPENAI_API_KEY``
set the calls go to OpenAI (or to ``OPENAI_BASE_URL``), with the model ``OPENAI_MODEL``
(default ``gpt-4o-mini``). Each call is also a row of the run's ``predictions.csv`` in the
tracklm store, whose ``trace_id`` and ``span_id`` name its span.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import openai
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import tracklm


def setup_opentelemetry() -> tuple[TracerProvider, MeterProvider]:
    """The OpenTelemetry SDK, exporting spans and metrics over OTLP/HTTP.

    The exporters read ``OTEL_EXPORTER_OTLP_ENDPOINT`` (and ``..._HEADERS``, ``..._TIMEOUT``)
    themselves; a Resource names the service in the backend.
    """
    resource = Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME", "tracklm-otlp-example")}
    )
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=10_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


@contextlib.contextmanager
def openai_client() -> Iterator[tuple[openai.OpenAI, str]]:
    """An OpenAI client and the model to ask: OpenAI's when ``OPENAI_API_KEY`` is set, else
    tracklm's local OpenAI-compatible server (it echoes), so the example runs offline."""
    if os.environ.get("OPENAI_API_KEY"):
        yield openai.OpenAI(), os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
        return
    from tracklm.testing import LLMServer

    with LLMServer() as server:
        yield (
            openai.OpenAI(api_key="offline-example-key", base_url=server.openai_base_url),
            ("gpt-4o-mini"),
        )


def main() -> None:
    tracer_provider, meter_provider = setup_opentelemetry()
    tracklm.autolog()  # after or before the SDK is set up: both work
    tracer = trace.get_tracer("support-bot")
    tracklm.set_experiment("otlp-example")
    try:
        with openai_client() as (client, model), tracklm.start_run(run_name="otlp-export") as run:
            # the app's own span: tracklm's call spans become its children, in one trace
            with tracer.start_as_current_span("answer-ticket"):
                reply = client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": "Where is my order?"}],
                    temperature=0.2,
                    max_tokens=50,
                )
                print("chat:  ", reply.choices[0].message.content)
                stream = client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": "Say hello in three words"}],
                    stream=True,
                    stream_options={"include_usage": True},
                )
                text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
                print("stream:", text)
            embedding = client.embeddings.create(
                model="text-embedding-3-small", input=["refund policy"]
            )
            print("embedding:", len(embedding.data[0].embedding), "dimensions")
        tracklm.flush()
        print(f"run {run.info.run_id} in {tracklm.get_tracking_uri()}")
    finally:
        # ends the batch processor and the metric reader: what they hold is exported now
        tracer_provider.shutdown()
        meter_provider.shutdown()
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
    print(f"spans and metrics exported to {endpoint} (the exporters log any failure)")


if __name__ == "__main__":
    main()
