"""OpenTelemetry spans and metrics for LLM calls, after the GenAI semantic conventions.

Only ``opentelemetry-api`` is used. With no OpenTelemetry SDK configured no span is started
(one check per call); with one, the call's span is started on the caller's thread and is the
current span while the SDK method runs (so HTTP spans nest under it), then detached before the
call returns, so it is not current while the caller reads a stream. Its response attributes
are set and it is ended, with the call's real end time, on tracklm's background thread, where
the response is read anyway. Inside OpenTelemetry's ``suppress_instrumentation`` context no
span is started and no metric is recorded.

Names follow the GenAI semantic conventions (``gen_ai.provider.name``, not the older
``gen_ai.system``): the span is ``"{gen_ai.operation.name} {gen_ai.request.model}"`` of kind
CLIENT, the metrics are the ``gen_ai.client.operation.duration`` (s),
``gen_ai.client.token.usage`` ({token}) and, for streams,
``gen_ai.client.operation.time_to_first_chunk`` (s) histograms with the conventions' bucket
boundaries. Message content is put on spans (``gen_ai.input.messages``,
``gen_ai.output.messages``, ``gen_ai.system_instructions``, as JSON strings in the
conventions' message schema) only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
is ``true`` (or ``SPAN_ONLY`` / ``SPAN_AND_EVENT``).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as _metrics_internal
from opentelemetry.trace import (
    NoOpTracerProvider,
    ProxyTracerProvider,
    SpanKind,
    Status,
    StatusCode,
)

from tracklm._config import getenv

if TYPE_CHECKING:
    from tracklm.autolog._call_record import CallRecord

__all__ = ["Span", "finish", "operation_name", "start_span", "tracing"]

# -- names, from the GenAI semantic conventions ---------------------------------------------

OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_TOP_K: Final = "gen_ai.request.top_k"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
REQUEST_STREAM: Final = "gen_ai.request.stream"
REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
OUTPUT_TYPE: Final = "gen_ai.output.type"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
TOKEN_TYPE: Final = "gen_ai.token.type"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
OPENAI_API_TYPE: Final = "openai.api.type"
ERROR_TYPE: Final = "error.type"

OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
TOKEN_USAGE: Final = "gen_ai.client.token.usage"
TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

# tracklm's operation names (the predictions table's) -> gen_ai.operation.name
_OPERATIONS: Final = {
    "embedding": "embeddings",
    "completion": "text_completion",
    "responses": "chat",  # the OpenAI Responses API is a chat operation; openai.api.type says which
}
_OPENAI_API_TYPES: Final = {"chat": "chat_completions", "responses": "responses"}

# request params -> span attributes, with the attribute's type
_FLOAT_PARAMS: Final = (
    ("temperature", REQUEST_TEMPERATURE),
    ("top_p", REQUEST_TOP_P),
    ("top_k", REQUEST_TOP_K),
    ("frequency_penalty", REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", REQUEST_PRESENCE_PENALTY),
)
_INT_PARAMS: Final = (
    ("max_tokens", REQUEST_MAX_TOKENS),
    ("max_completion_tokens", REQUEST_MAX_TOKENS),
    ("max_output_tokens", REQUEST_MAX_TOKENS),
    ("seed", REQUEST_SEED),
    ("dimensions", EMBEDDINGS_DIMENSION_COUNT),
)
# finish reasons -> the conventions' output-message finish_reason values
_FINISH_REASONS: Final = {
    "tool_calls": "tool_call",
    "function_call": "tool_call",
    "completed": "stop",
    "max_output_tokens": "length",
    "max_tokens": "length",
}

_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CONTENT_ON: Final = frozenset({"1", "true", "yes", "on", "span_only", "span_and_event"})
_SCOPE: Final = "tracklm"

# the key of OpenTelemetry's suppress_instrumentation context, and the plain string key that
# older opentelemetry-instrumentation releases also set
_SUPPRESS_KEYS: Final[tuple[Any, ...]] = tuple(
    key
    for key in (
        getattr(otel_context, "_SUPPRESS_INSTRUMENTATION_KEY", None),
        "suppress_instrumentation",
    )
    if key is not None
)


class Span:
    """The call's span and the context token that made it current (``span`` is None when
    instrumentation was suppressed: nothing is recorded for the call)."""

    __slots__ = ("span", "token")

    def __init__(self, span: trace.Span | None, token: object) -> None:
        self.span = span
        self.token = token

    def leave(self) -> None:
        """Stop being the current span (the SDK method returned or raised)."""
        token = self.token
        if token is not None:
            self.token = None
            otel_context.detach(token)  # type: ignore[arg-type]

    @property
    def ids(self) -> tuple[str | None, str | None]:
        """(trace id, span id) in W3C hex, for the predictions row; (None, None) if none."""
        if self.span is None:
            return None, None
        ctx = self.span.get_span_context()
        if not ctx.is_valid:
            return None, None
        return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


_SUPPRESSED: Final = Span(None, None)  # shared: it holds no state

# -- caller's thread ---------------------------------------------------------------------------

_tracer_cache: tuple[trace.TracerProvider, trace.Tracer] | None = None
_UNKNOWN: Final = object()
_GET_TRACER_PROVIDER: Final = trace.get_tracer_provider  # (tests replace it)


def _tracer() -> trace.Tracer | None:
    global _tracer_cache
    provider = trace.get_tracer_provider()
    cached = _tracer_cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    if isinstance(provider, (ProxyTracerProvider, NoOpTracerProvider)):
        return None  # no SDK configured: a span would be dropped anyway
    tracer = provider.get_tracer(_SCOPE, _version())
    _tracer_cache = (provider, tracer)
    return tracer


def tracing() -> bool:
    """True when a call's span would be recorded: an OpenTelemetry SDK is configured."""
    # No global provider set, in code or by environment variable, is the usual case: found
    # here in few steps, as this comes before every call. ``get_tracer_provider()`` would say
    # so too, but only after a failed os.environ lookup (a raised KeyError: microseconds).
    # Where the API's private global is gone (another release) or the getter was replaced,
    # the getter is asked.
    if (
        trace.get_tracer_provider is _GET_TRACER_PROVIDER
        and getattr(trace, "_TRACER_PROVIDER", _UNKNOWN) is None
        and not getenv("OTEL_PYTHON_TRACER_PROVIDER")
    ):
        return False
    return _tracer() is not None


def start_span(operation: str, model: str | None, provider: str, start_ns: int) -> Span | None:
    """Start the call's span and make it current; None when there is nothing to record to.

    ``start_ns`` is the call's start on the wall clock (``time.time_ns()``).
    """
    tracer = _tracer() if tracing() else None
    if tracer is None:
        return None
    for key in _SUPPRESS_KEYS:
        if otel_context.get_value(key):
            return _SUPPRESSED
    operation = _OPERATIONS.get(operation, operation)
    attributes: dict[str, Any] = {OPERATION_NAME: operation, PROVIDER_NAME: provider}
    if model:
        attributes[REQUEST_MODEL] = model
        name = f"{operation} {model}"
    else:
        name = operation
    span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns)
    token = otel_context.attach(trace.set_span_in_context(span))
    return Span(span, token)


# -- background thread -------------------------------------------------------------------------


def finish(span: Span | None, record: CallRecord, end_ns: int) -> None:
    """All the telemetry of a finished call: set the response attributes on its span, end the
    span at ``end_ns`` (wall clock), and record the call's metrics (with the span as their
    exemplars' context). ``record`` is what will be stored: redacted and truncated already."""
    if span is None:
        _record(record, None)
        return
    otel_span = span.span
    if otel_span is None:  # suppressed: no span, no metrics
        return
    if otel_span.is_recording():
        otel_span.set_attributes(_attributes(record))
        if record.status == "error":
            otel_span.set_attribute(ERROR_TYPE, _error_type(record))
            otel_span.set_status(Status(StatusCode.ERROR, record.error))
    otel_span.end(end_time=end_ns)
    _record(record, trace.set_span_in_context(otel_span))


def operation_name(operation: str) -> str:
    """The ``gen_ai.operation.name`` of one of tracklm's operations (``embedding`` ->
    ``embeddings``, ``completion`` -> ``text_completion``, ``responses`` -> ``chat``)."""
    return _OPERATIONS.get(operation, operation)


def _error_type(record: CallRecord) -> str:
    return (record.error or "_OTHER").split(":", 1)[0] or "_OTHER"


def _attributes(record: CallRecord) -> dict[str, Any]:
    params = record.params
    attributes: dict[str, Any] = {}
    for param, attribute in _FLOAT_PARAMS:
        value = _number(params.get(param))
        if value is not None:
            attributes[attribute] = float(value)
    for param, attribute in _INT_PARAMS:
        value = _number(params.get(param))
        if value is not None and attribute not in attributes:
            attributes[attribute] = int(value)
    choices = _number(params.get("n"))
    if choices is not None and choices != 1:
        attributes[REQUEST_CHOICE_COUNT] = int(choices)
    stop = params.get("stop", params.get("stop_sequences"))
    if isinstance(stop, str):
        attributes[REQUEST_STOP_SEQUENCES] = [stop]
    elif isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
        attributes[REQUEST_STOP_SEQUENCES] = stop
    encoding = params.get("encoding_format")
    if isinstance(encoding, str):
        attributes[REQUEST_ENCODING_FORMATS] = [encoding]
    output_type = _output_type(params)
    if output_type is not None:
        attributes[OUTPUT_TYPE] = output_type
    if record.integration == "openai" and record.operation in _OPENAI_API_TYPES:
        attributes[OPENAI_API_TYPE] = _OPENAI_API_TYPES[record.operation]
    if record.stream:
        attributes[REQUEST_STREAM] = True
        if record.ttft_ms is not None:
            attributes[RESPONSE_TIME_TO_FIRST_CHUNK] = record.ttft_ms / 1000
    response: tuple[tuple[str, str | int | None], ...] = (
        (RESPONSE_ID, record.response_id),
        (RESPONSE_MODEL, record.response_model),
        (USAGE_INPUT_TOKENS, record.input_tokens),
        (USAGE_OUTPUT_TOKENS, record.output_tokens),
        (USAGE_CACHE_READ_INPUT_TOKENS, record.cached_input_tokens),
        (USAGE_REASONING_OUTPUT_TOKENS, record.reasoning_tokens),
    )
    for key, found in response:
        if found is not None:
            attributes[key] = found
    if record.finish_reason:
        attributes[RESPONSE_FINISH_REASONS] = record.finish_reason.split(",")
    if _capture_content() and operation_name(record.operation) != "embeddings":
        attributes.update(_content(record))
    return attributes


def _number(value: Any) -> float | None:
    """``value`` if it is a number (not a bool), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def _output_type(params: Mapping[str, Any]) -> str | None:
    response_format = params.get("response_format")
    text = params.get("text")  # the Responses API: text={"format": {"type": ...}}
    if response_format is None and isinstance(text, Mapping):
        response_format = text.get("format")
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind in ("json_schema", "json_object"):
        return "json"
    return "text" if kind == "text" else None


# -- metrics -----------------------------------------------------------------------------------


class _Instruments:
    __slots__ = ("duration", "provider", "tokens", "ttfc", "with_context")

    def __init__(self, provider: metrics.MeterProvider) -> None:
        meter = provider.get_meter(_SCOPE, _version())
        self.provider = provider
        self.duration = meter.create_histogram(
            OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.tokens = meter.create_histogram(
            TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=[float(b) for b in TOKEN_BUCKETS],
        )
        self.ttfc = meter.create_histogram(
            TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        # opentelemetry-api < 1.28 has no context argument (for exemplars) on record()
        self.with_context = "context" in inspect.signature(self.duration.record).parameters


_instruments_cache: _Instruments | None = None
_PROXY: Final = "_ProxyMeterProvider"
_GET_METER_PROVIDER: Final = metrics.get_meter_provider


def _instruments() -> _Instruments | None:
    """The histograms of the current global meter provider; None while no SDK is set.

    Until an SDK is set, ``get_meter_provider()`` returns the API's proxy, whose instruments
    record nothing: then nothing is recorded (the proxy is known by its class name, as the API
    exports no way to tell it apart). Once one is set, ``get_meter_provider()`` returns it, and
    the instruments are made from it, and remade whenever the global provider changes.
    """
    global _instruments_cache
    if (  # no global provider set: as in tracing()
        metrics.get_meter_provider is _GET_METER_PROVIDER
        and getattr(_metrics_internal, "_METER_PROVIDER", _UNKNOWN) is None
        and not getenv("OTEL_PYTHON_METER_PROVIDER")
    ):
        return None
    provider = metrics.get_meter_provider()
    cached = _instruments_cache
    if cached is not None and cached.provider is provider:
        return cached
    if isinstance(provider, metrics.NoOpMeterProvider) or type(provider).__name__ == _PROXY:
        return None
    cached = _instruments_cache = _Instruments(provider)
    return cached


def _record(record: CallRecord, context: otel_context.Context | None) -> None:
    instruments = _instruments()
    if instruments is None:
        return
    extra: dict[str, Any] = {"context": context} if instruments.with_context else {}
    attributes: dict[str, Any] = {
        OPERATION_NAME: operation_name(record.operation),
        PROVIDER_NAME: record.provider,
    }
    if record.model:
        attributes[REQUEST_MODEL] = record.model
    if record.response_model:
        attributes[RESPONSE_MODEL] = record.response_model
    if record.status == "error":
        instruments.duration.record(
            record.latency_ms / 1000, {**attributes, ERROR_TYPE: _error_type(record)}, **extra
        )
    else:
        instruments.duration.record(record.latency_ms / 1000, attributes, **extra)
    if record.stream and record.ttft_ms is not None:
        instruments.ttfc.record(record.ttft_ms / 1000, attributes, **extra)
    for token_type, count in (("input", record.input_tokens), ("output", record.output_tokens)):
        if count is not None:
            instruments.tokens.record(count, {**attributes, TOKEN_TYPE: token_type}, **extra)


# -- message content ---------------------------------------------------------------------------


def _capture_content() -> bool:
    return os.environ.get(_CONTENT_ENV, "").strip().lower() in _CONTENT_ON


def _content(record: CallRecord) -> dict[str, str]:
    """The opt-in content attributes, as JSON strings in the conventions' message schemas
    (span attributes cannot hold structured values in OpenTelemetry Python)."""
    attributes: dict[str, str] = {}
    instructions = record.params.get("instructions")
    if isinstance(instructions, str) and instructions:
        attributes[SYSTEM_INSTRUCTIONS] = _json([_text(instructions)])
    if record.inputs is not None:
        attributes[INPUT_MESSAGES] = _json(_input_messages(record.inputs))
    if record.outputs is not None:
        reasons = record.finish_reason.split(",") if record.finish_reason else []
        attributes[OUTPUT_MESSAGES] = _json(_output_messages(record.outputs, reasons))
    return attributes


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _text(content: Any) -> dict[str, Any]:
    return {"type": "text", "content": content if isinstance(content, str) else _json(content)}


def _arguments(arguments: Any) -> Any:
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # the model's text, kept if it is not JSON
            return json.loads(arguments)
    return arguments


def _parts(content: Any) -> list[dict[str, Any]]:
    """Message parts of an OpenAI-style ``content``: a string or a list of typed parts."""
    if content is None:
        return []
    if not isinstance(content, list):
        return [_text(content)]
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            parts.append(_text(part))
            continue
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text") and "text" in part:
            parts.append(_text(part["text"]))
        elif kind in ("refusal",) and "refusal" in part:
            parts.append(_text(part["refusal"]))
        elif kind in ("image_url", "input_image"):
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            parts.append(_media("image", url, part.get("file_id")))
        elif kind == "input_audio" and isinstance(part.get("input_audio"), Mapping):
            audio = part["input_audio"]
            parts.append(
                {
                    "type": "blob",
                    "modality": "audio",
                    "mime_type": f"audio/{audio.get('format', 'wav')}",
                    "content": audio.get("data"),
                }
            )
        elif kind in ("file", "input_file"):
            file = part.get("file")
            if not isinstance(file, Mapping):
                file = part
            parts.append(_media("document", file.get("file_url"), file.get("file_id")))
        else:
            parts.append(dict(part) if kind else {"type": "unknown", **part})
    return parts


def _media(modality: str, url: Any, file_id: Any) -> dict[str, Any]:
    if isinstance(url, str) and url.startswith("data:") and "," in url:
        header, data = url[5:].split(",", 1)
        return {
            "type": "blob",
            "modality": modality,
            "mime_type": header.split(";", 1)[0] or None,
            "content": data,
        }
    if isinstance(url, str):
        return {"type": "uri", "modality": modality, "uri": url}
    return {"type": "file", "modality": modality, "file_id": file_id}


def _tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function")
    source = function if isinstance(function, Mapping) else call
    return {
        "type": "tool_call",
        "id": call.get("id") or call.get("call_id"),
        "name": source.get("name"),
        "arguments": _arguments(source.get("arguments")),
    }


def _input_messages(inputs: Any) -> list[dict[str, Any]]:
    """``gen_ai.input.messages`` from chat messages, Responses API input items or prompts."""
    if not isinstance(inputs, list):
        return [{"role": "user", "parts": [_text(inputs)]}]
    if all(isinstance(item, (str, int)) for item in inputs):  # prompt(s), or token ids
        prompts = inputs if all(isinstance(item, str) for item in inputs) else [inputs]
        return [{"role": "user", "parts": [_text(p) for p in prompts]}]
    messages: list[dict[str, Any]] = []
    for item in inputs:
        if not isinstance(item, Mapping):
            messages.append({"role": "user", "parts": [_text(item)]})
            continue
        kind = item.get("type")
        role = item.get("role")
        if kind == "function_call":
            messages.append({"role": "assistant", "parts": [_tool_call(item)]})
        elif kind == "function_call_output":
            response = {"type": "tool_call_response", "id": item.get("call_id")}
            messages.append(
                {"role": "tool", "parts": [{**response, "response": item.get("output")}]}
            )
        elif role in ("tool", "function"):
            response = {"type": "tool_call_response", "id": item.get("tool_call_id")}
            messages.append(
                {"role": "tool", "parts": [{**response, "response": item.get("content")}]}
            )
        elif role is not None:
            parts = _parts(item.get("content"))
            calls = item.get("tool_calls")
            if isinstance(calls, list):
                parts.extend(_tool_call(c) for c in calls if isinstance(c, Mapping))
            message: dict[str, Any] = {"role": role, "parts": parts}
            if isinstance(item.get("name"), str):
                message["name"] = item["name"]
            messages.append(message)
        else:  # another Responses API item (reasoning, a built-in tool's call...)
            messages.append({"role": "assistant", "parts": [dict(item)]})
    return messages


def _output_messages(outputs: Any, reasons: list[str]) -> list[dict[str, Any]]:
    """``gen_ai.output.messages``: one assistant message per choice."""
    choices = outputs if isinstance(outputs, list) else [outputs]
    messages: list[dict[str, Any]] = []
    for index, choice in enumerate(choices):
        if isinstance(choice, Mapping) and "tool_calls" in choice:
            parts = _parts(choice.get("content"))
            calls = choice["tool_calls"]
            if isinstance(calls, list):
                parts.extend(_tool_call(c) for c in calls if isinstance(c, Mapping))
        else:
            parts = _parts(choice if isinstance(choice, str) else _json(choice))
        message: dict[str, Any] = {"role": "assistant", "parts": parts}
        if index < len(reasons):
            message["finish_reason"] = _FINISH_REASONS.get(reasons[index], reasons[index])
        messages.append(message)
    return messages


_version_cache: str | None = None


def _version() -> str:
    global _version_cache
    if _version_cache is None:
        try:
            _version_cache = importlib.metadata.version("tracklm")
        except importlib.metadata.PackageNotFoundError:
            _version_cache = ""
    return _version_cache
