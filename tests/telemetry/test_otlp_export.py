"""``examples/otlp_export.py`` run as users run it, exporting to a local OTLP/HTTP receiver.

The receiver takes ``POST /v1/traces`` and ``/v1/metrics`` with protobuf bodies, as a
Collector does, and the test decodes them with ``opentelemetry-proto``: a span per call with its
``gen_ai.*`` attributes, the duration and token-usage histograms, and no credential anywhere.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

import tracklm
from tracklm.testing import LLMServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "otlp_export.py"
API_KEY = "sk-tracklm-otlp-7c6b5a4f3e2d-SECRET"
OFFLINE_KEY = "offline-example-key"  # the example's key for its local server


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP endpoint on a free local port that keeps every request it gets."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def bodies(self, path: str) -> list[bytes]:
        with self.lock:
            return [r.body for r in self.received if r.path == path]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        answers = {
            "/v1/traces": ExportTraceServiceResponse,
            "/v1/metrics": ExportMetricsServiceResponse,
        }
        answer = answers.get(self.path)
        if answer is None or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_error(404)
            return
        with self.server.lock:
            self.server.received.append(Received(self.path, dict(self.headers.items()), body))
        data = answer().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no line per request
        pass


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@dataclass
class Export:
    """What one run of the example sent, and where it kept its tracklm store."""

    receiver: Receiver
    store: Path
    stdout: str


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Export]:
    """The example run once without an API key (against its own local server)."""
    folder = tmp_path_factory.mktemp("otlp-offline")
    with receiving() as receiver:
        out = run_example(folder, receiver)
        yield Export(receiver, folder / "example-store", out)


def run_example(tmp_path: Path, receiver: Receiver, **env: str) -> str:
    """Run the example in a fresh interpreter as a user would; returns its stdout."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "TRACKLM_"))
    }
    clean.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="otlp-test",
        TRACKLM_TRACKING_URI=str(tmp_path / "example-store"),
        TRACKLM_JOURNAL_DIR=str(tmp_path / "journal"),
        **env,
    )
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Failed to export" not in result.stderr, result.stderr
    return result.stdout


# -- decoding ----------------------------------------------------------------------------------


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    return getattr(any_value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    pair: KeyValue
    for pair in pairs:
        found[pair.key] = value(pair.value)
    return found


@dataclass
class ExportedSpan:
    span: Span
    scope: str
    resource: dict[str, Any]

    @property
    def attributes(self) -> dict[str, Any]:
        return attributes(self.span.attributes)


def spans(receiver: Receiver) -> list[ExportedSpan]:
    found = []
    for body in receiver.bodies("/v1/traces"):
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(ExportedSpan(span, scope_spans.scope.name, resource))
    return sorted(found, key=lambda s: s.span.start_time_unix_nano)


def tracklm_metrics(receiver: Receiver) -> dict[str, Metric]:
    """The tracklm scope's metrics in the last export that held each (cumulative)."""
    found: dict[str, Metric] = {}
    for body in receiver.bodies("/v1/metrics"):
        request = ExportMetricsServiceRequest.FromString(body)
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                if scope_metrics.scope.name == "tracklm":
                    for metric in scope_metrics.metrics:
                        found[metric.name] = metric
    return found


# -- tests -------------------------------------------------------------------------------------


def test_the_example_exports_a_span_per_call_with_gen_ai_attributes(offline: Export) -> None:
    assert "spans and metrics exported to " + offline.receiver.endpoint in offline.stdout

    exported = spans(offline.receiver)
    calls = [s for s in exported if s.scope == "tracklm"]
    (app,) = [s for s in exported if s.scope == "support-bot"]
    assert [s.span.name for s in calls] == [
        "chat gpt-4o-mini",
        "chat gpt-4o-mini",
        "embeddings text-embedding-3-small",
    ]
    chat, stream, embedding = (s.attributes for s in calls)
    for span in calls:
        assert span.span.kind == Span.SPAN_KIND_CLIENT
        assert span.resource["service.name"] == "otlp-test"
        # an OpenAI-compatible server is named by its host (api.openai.com would be "openai")
        assert span.attributes["gen_ai.provider.name"] == "127.0.0.1"
    assert {k: chat[k] for k in chat if not k.startswith("gen_ai.response.id")} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "127.0.0.1",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 4,  # the echo server counts words
        "gen_ai.usage.output_tokens": 5,
        "openai.api.type": "chat_completions",
    }
    assert chat["gen_ai.response.id"].startswith("chatcmpl-echo-")
    assert stream["gen_ai.request.stream"] is True
    assert (stream["gen_ai.usage.input_tokens"], stream["gen_ai.usage.output_tokens"]) == (5, 6)
    assert stream["gen_ai.response.time_to_first_chunk"] >= 0
    assert embedding["gen_ai.operation.name"] == "embeddings"
    assert embedding["gen_ai.request.model"] == "text-embedding-3-small"
    assert embedding["gen_ai.usage.input_tokens"] == 2
    # the calls in the app's span are its children, in its trace; the embedding is a root
    for span in calls[:2]:
        assert span.span.trace_id == app.span.trace_id
        assert span.span.parent_span_id == app.span.span_id
    assert calls[2].span.parent_span_id == b""
    # the run's predictions name each call's span
    client = tracklm.TracklmClient(str(offline.store))
    experiment = client.get_experiment_by_name("otlp-example")
    assert experiment is not None
    rows = client.load_table(experiment.experiment_id, "predictions.csv")
    assert list(zip(rows["trace_id"], rows["span_id"], strict=True)) == [
        (s.span.trace_id.hex(), s.span.span_id.hex()) for s in calls
    ]


def test_the_example_exports_duration_and_token_usage_histograms(offline: Export) -> None:
    found = tracklm_metrics(offline.receiver)
    assert set(found) == {
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk",
    }
    duration = found["gen_ai.client.operation.duration"]
    assert duration.unit == "s"
    points = duration.histogram.data_points
    by_operation = {attributes(p.attributes)["gen_ai.operation.name"]: p for p in points}
    assert {op: p.count for op, p in by_operation.items()} == {"chat": 2, "embeddings": 1}
    for point in points:
        assert attributes(point.attributes)["gen_ai.provider.name"] == "127.0.0.1"
        assert point.sum > 0
        assert list(point.explicit_bounds)[:3] == [0.01, 0.02, 0.04]
    tokens = found["gen_ai.client.token.usage"]
    assert tokens.unit == "{token}"
    sums: dict[tuple[str, str], float] = {}
    for point in tokens.histogram.data_points:
        labels = attributes(point.attributes)
        key = (labels["gen_ai.operation.name"], labels["gen_ai.token.type"])
        sums[key] = sums.get(key, 0) + point.sum
    assert sums == {("chat", "input"): 9, ("chat", "output"): 11, ("embeddings", "input"): 2}
    (first_chunk,) = found["gen_ai.client.operation.time_to_first_chunk"].histogram.data_points
    assert first_chunk.count == 1


def test_no_api_key_or_authorization_is_exported_even_with_message_content_on(
    tmp_path: Path,
) -> None:
    """With a real-looking key sent to the API (here the local server) and message content
    captured on spans, no credential reaches the backend: not in a span, a metric, or a header."""
    with LLMServer() as server, receiving() as receiver:
        run_example(
            tmp_path,
            receiver,
            OPENAI_API_KEY=API_KEY,
            OPENAI_BASE_URL=server.openai_base_url,
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true",
        )
        sent = [r.header("authorization") for r in server.requests]
    check_no_credential_was_exported(receiver, [API_KEY])
    assert sent == [f"Bearer {API_KEY}"] * 3  # the key was in use on every call
    calls = [s for s in spans(receiver) if s.scope == "tracklm"]
    assert "gen_ai.input.messages" in calls[0].attributes  # content was exported


def test_no_api_key_is_exported_by_the_offline_run(offline: Export) -> None:
    check_no_credential_was_exported(offline.receiver, [OFFLINE_KEY])


def check_no_credential_was_exported(receiver: Receiver, keys: list[str]) -> None:
    """Neither the keys nor an Authorization header, in any body or header sent."""
    assert receiver.bodies("/v1/traces")
    assert receiver.bodies("/v1/metrics")
    with receiver.lock:
        everything = list(receiver.received)
    for request in everything:
        text = request.body.decode("utf-8", "replace").lower()
        headers = {k.lower(): v.lower() for k, v in request.headers.items()}
        assert "authorization" not in headers
        for secret in [*keys, "bearer ", "authorization"]:
            assert secret.lower() not in text, (request.path, secret)
            assert all(secret.lower() not in v for v in headers.values()), secret
