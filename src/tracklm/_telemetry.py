"""OpenTelemetry spans and metrics for LLM calls, after the GenAI semantic conventions.

Only ``opentelemetry-api`` is used: with no OpenTelemetry SDK configured, no span is started
and this costs one check per call. With one, the call's span is started on the caller's thread
and is the current span while the SDK method runs (so HTTP spans nest under it), then detached
before the call returns; its response attributes are set and it is ended, with the call's real
end time, on tracklm's background thread, where the response is read anyway.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import ProxyTracerProvider, SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from tracklm.autolog._call_record import CallRecord

__all__ = ["end_span", "record_metrics", "start_span"]

# gen_ai.* names, from the GenAI semantic conventions
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_TOP_K: Final = "gen_ai.request.top_k"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
TOKEN_TYPE: Final = "gen_ai.token.type"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
ERROR_TYPE: Final = "error.type"

OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
TOKEN_USAGE: Final = "gen_ai.client.token.usage"
DURATION_BUCKETS: Final = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_BUCKETS: Final = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)

# request params -> span attributes
_PARAM_ATTRIBUTES: Final = {
    "temperature": REQUEST_TEMPERATURE,
    "top_p": REQUEST_TOP_P,
    "top_k": REQUEST_TOP_K,
    "max_tokens": REQUEST_MAX_TOKENS,
    "max_completion_tokens": REQUEST_MAX_TOKENS,
    "max_output_tokens": REQUEST_MAX_TOKENS,
    "seed": REQUEST_SEED,
}

_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_SCOPE: Final = "tracklm"

_SUPPRESS_KEY: Any = getattr(otel_context, "_SUPPRESS_INSTRUMENTATION_KEY", None)

_tracer_cache: tuple[Any, trace.Tracer] | None = None
_meter_cache: tuple[Any, Any, Any] | None = None


class Span:
    """A started span, and the context token that made it current."""

    __slots__ = ("span", "token")

    def __init__(self, span: trace.Span, token: object) -> None:
        self.span = span
        self.token = token

    def leave(self) -> None:
        """Stop being the current span (the call returned)."""
        if self.token is not None:
            otel_context.detach(self.token)  # type: ignore[arg-type]
            self.token = None

    @property
    def ids(self) -> tuple[str, str]:
        ctx = self.span.get_span_context()
        return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def _tracer() -> trace.Tracer | None:
    global _tracer_cache
    provider = trace.get_tracer_provider()
    if isinstance(provider, (ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None  # no SDK configured: spans would be dropped anyway
    cached = _tracer_cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    tracer = provider.get_tracer(_SCOPE)
    _tracer_cache = (provider, tracer)
    return tracer


def start_span(operation: str, model: str | None, provider: str, start_ns: int) -> Span | None:
    """Start the call's span and make it current; None when there is nothing to record to."""
    tracer = _tracer()
    if tracer is None:
        return None
    if _SUPPRESS_KEY is not None and otel_context.get_value(_SUPPRESS_KEY):
        return None
    name = f"{operation} {model}" if model else operation
    attributes: dict[str, Any] = {OPERATION_NAME: operation, PROVIDER_NAME: provider}
    if model:
        attributes[REQUEST_MODEL] = model
    span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns)
    token = otel_context.attach(trace.set_span_in_context(span))
    return Span(span, token)


def end_span(span: Span, record: CallRecord, end_ns: int) -> None:
    """Set the response attributes on the span and end it at the call's end time."""
    otel_span = span.span
    if otel_span.is_recording():
        otel_span.set_attributes(_attributes(record))
        if record.status == "error":
            error_type = (record.error or "Exception").split(":", 1)[0]
            otel_span.set_attribute(ERROR_TYPE, error_type)
            otel_span.set_status(Status(StatusCode.ERROR, record.error))
    otel_span.end(end_time=end_ns)


def _attributes(record: CallRecord) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for param, attribute in _PARAM_ATTRIBUTES.items():
        value = record.params.get(param)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes.setdefault(attribute, value)
    stop = record.params.get("stop", record.params.get("stop_sequences"))
    if isinstance(stop, str):
        attributes[REQUEST_STOP_SEQUENCES] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        attributes[REQUEST_STOP_SEQUENCES] = stop
    for key, value in (
        (RESPONSE_ID, record.response_id),
        (RESPONSE_MODEL, record.response_model),
        (USAGE_INPUT_TOKENS, record.input_tokens),
        (USAGE_OUTPUT_TOKENS, record.output_tokens),
    ):
        if value is not None:
            attributes[key] = value
    if record.finish_reason:
        attributes[RESPONSE_FINISH_REASONS] = record.finish_reason.split(",")
    if _capture_content():
        if record.inputs is not None:
            attributes[INPUT_MESSAGES] = _json(record.inputs)
        if record.outputs is not None:
            attributes[OUTPUT_MESSAGES] = _json(record.outputs)
    return attributes


def _capture_content() -> bool:
    return os.environ.get(_CONTENT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)


def record_metrics(record: CallRecord) -> None:
    """Record the call's duration and token usage histograms (no-op without an SDK)."""
    global _meter_cache
    provider = metrics.get_meter_provider()
    if type(provider).__name__ in {"_ProxyMeterProvider", "NoOpMeterProvider"}:
        return
    cached = _meter_cache
    if cached is None or cached[0] is not provider:
        meter = provider.get_meter(_SCOPE)
        duration = meter.create_histogram(
            OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        tokens = meter.create_histogram(
            TOKEN_USAGE,
            unit="{token}",
            description="Measures number of input and output tokens used",
            explicit_bucket_boundaries_advisory=[float(b) for b in TOKEN_BUCKETS],
        )
        cached = _meter_cache = (provider, duration, tokens)
    _, duration, tokens = cached
    attributes: dict[str, Any] = {OPERATION_NAME: record.operation, PROVIDER_NAME: record.provider}
    if record.model:
        attributes[REQUEST_MODEL] = record.model
    if record.response_model:
        attributes[RESPONSE_MODEL] = record.response_model
    if record.status == "error":
        attributes[ERROR_TYPE] = (record.error or "Exception").split(":", 1)[0]
    duration.record(record.latency_ms / 1000, attributes)
    for token_type, count in (("input", record.input_tokens), ("output", record.output_tokens)):
        if count is not None:
            tokens.record(count, {**attributes, TOKEN_TYPE: token_type})
