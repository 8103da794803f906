"""One LLM call in flight, from the wrapper to the records it becomes.

On the caller's thread a :class:`Call` only holds references and timestamps. Where its
target allows (``Target.start_later``), even what the call is (the target's ``start``) and
which run and step it goes to are found when it finishes, so that nothing of tracklm's but
the least stands before a stream's first chunk. Once the call has finished it is queued to the
run manager as is; there, on the background thread, :meth:`Call.expand` reads the request and
response with the integration's reader, applies ``redact`` and ``max_text_chars``, ends the
span, and turns it into the predictions row, the run's params and the call's metrics.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Final

from tracklm import _run_manager, _telemetry
from tracklm._context import active_runs
from tracklm._random_ids import random_hex
from tracklm._run_manager.records import AppendRows, LogMetric, LogParam, Record
from tracklm._validation import MAX_PARAM_VALUE_LENGTH
from tracklm.autolog import _runs, _streams
from tracklm.autolog._call_record import CallRecord
from tracklm.autolog._options import AutologOptions
from tracklm.autolog._shield import internal_error
from tracklm.client import TracklmClient
from tracklm.integration import CallStart, Reader, RequestInfo, ResponseInfo

PREDICTIONS_TABLE: Final = "predictions.csv"
_METRICS: Final = ("latency_ms", "ttft_ms", "input_tokens", "output_tokens", "total_tokens")

# params already logged per run by this process: the store keeps the first value anyway, so
# sending the same params with every call would only cost writes
_logged_params: dict[str, set[str]] = {}
_logged_lock = threading.Lock()

# Calls whose result went back to the caller unfinished (a stream, a response whose body is
# read later). One the program never finishes - it exits with a stream open - is finished at
# exit, before the last flush, so that its row (with what was read) is kept.
_unfinished: dict[int, Call] = {}

Start = Callable[[Any, tuple[Any, ...], dict[str, Any]], CallStart | None]
"""A target's ``start`` hook."""
LATER: Final[Any] = object()
"""What a :class:`Call` is given for a start not made yet."""


class Call:
    """The core's handle on one call (see :class:`tracklm.integration.CallHandle`)."""

    __slots__ = (
        "_made",
        "_start",
        "args",
        "chunks",
        "client",
        "end_ns",
        "error",
        "finished",
        "instance",
        "integration",
        "kwargs",
        "options",
        "reader",
        "response",
        "run_id",
        "runs",
        "span",
        "start_ns",
        "step",
        "streamed",
        "ttft_ns",
        "wall_ns",
    )
    # set where they are first known, before any read (not in __init__: each store costs the
    # caller time): client, run_id and step when the call is queued, end_ns when it finishes,
    # response by done(), chunks by the stream's watch
    client: TracklmClient
    run_id: str
    step: int
    end_ns: int
    response: Any
    chunks: list[Any] | None

    def __init__(
        self,
        integration: str,
        start: Start,
        made: CallStart | None,
        reader: Reader,
        options: AutologOptions,
        instance: Any,
        args: tuple[Any, ...] | None,
        kwargs: dict[str, Any] | None,
    ) -> None:
        """``made``: what ``start`` made of the call already, or :data:`LATER`; then
        ``instance``, ``args`` and ``kwargs`` are kept for it until it is made."""
        self.start_ns = time.perf_counter_ns()
        self.wall_ns = time.time_ns()
        self.integration = integration
        self._start = start
        self._made: Any = made
        self.reader = reader
        self.options = options
        self.instance = instance
        self.args: Any = args
        self.kwargs: Any = kwargs
        self.runs = active_runs.get()  # the caller's context, now: the run is found later
        self.ttft_ns: int | None = None
        self.error: BaseException | None = None
        self.streamed = False
        self.finished = False
        self.span: _telemetry.Span | None = None
        if _telemetry.tracing():  # the span starts now, as the call does: it needs the start
            made = self.start
            if made is not None:
                self.span = _telemetry.start_span(
                    made.operation, made.model, made.provider or integration, self.wall_ns
                )

    @property
    def start(self) -> CallStart | None:
        """What the target's ``start`` made of the call (None: not recorded), made at first
        use."""
        made = self._made
        if made is LATER:
            try:
                made = self._start(self.instance, self.args, self.kwargs)
            except Exception as exc:
                internal_error(f"starting to record a {self.integration} call failed", exc)
                made = None
            self._made = made
            self.instance = self.args = self.kwargs = None
        return made  # type: ignore[no-any-return]

    # -- caller's thread ---------------------------------------------------------------------

    def done(self, response: Any) -> None:
        if self.finished:
            return
        self.end_ns = time.perf_counter_ns()
        self.finished = True
        self.response = response
        self._submit()

    def fail(self, error: BaseException) -> None:
        if self.finished:
            return
        self.end_ns = time.perf_counter_ns()
        self.finished = True
        self.error = error
        self._submit()

    def returned(self) -> None:
        """The caller has the call's result unfinished; keep track of it until it is."""
        _unfinished[id(self)] = self
        if self.finished:  # finished meanwhile, on another thread
            _unfinished.pop(id(self), None)

    # the stream functions themselves, the call their first argument: no call in between
    wrap_stream = _streams.wrap
    watch_iterator = _streams.watch

    def stream_ended(self, error: BaseException | None, closed: bool = False) -> None:
        """The stream was exhausted, failed, closed or dropped: finish the call once."""
        if self.finished:
            return
        try:
            if error is not None and not isinstance(error, GeneratorExit):
                self.fail(error)
            else:
                self.done(None)
        except Exception as exc:  # called from __del__ and finally blocks: never raise
            internal_error("finishing a stream failed", exc)

    def _submit(self) -> None:
        # done() and fail() also run from integrations' proxies, __del__ included: never raise
        try:
            _unfinished.pop(id(self), None)  # (as cheap as asking whether it is there)
            if self.start is None:  # not an LLM call after all
                return
            self.client, self.run_id, self.step = _runs.target_run(self.runs)
            self.runs = ()
            self.client._manager.submit(self, block=False)  # type: ignore[arg-type]
        except Exception as exc:
            internal_error("queueing a call's record failed", exc)

    # -- background thread -------------------------------------------------------------------

    def expand(self) -> list[Record]:
        """The records this call becomes: params, metrics and its predictions row."""
        record = self._record()
        secrets = self._made.secrets
        texts = _mask(record, secrets) if secrets else None
        end_wall_ns = self.wall_ns + (self.end_ns - self.start_ns)
        redact = self.options.redact
        if redact is not None:
            texts = None  # what redact returns is written, whatever it changed
            redacted = redact(record)
            if redacted is None:  # no row; the span still ends, without any content
                record.inputs = record.outputs = None
                _telemetry.finish(self.span, record, end_wall_ns)
                return []
            record = redacted
        inputs, outputs = _texts(record, self.options.max_text_chars, texts)
        # the span gets what is stored: redacted and cut, never more
        _telemetry.finish(self.span, record, end_wall_ns)
        return [
            *self._params(record),
            *self._metrics(record),
            self._row(record, inputs, outputs),
        ]

    def _record(self) -> CallRecord:
        start: CallStart = self._made
        try:
            request = self.reader.request(start.request)
        except Exception as exc:
            internal_error(f"reading a {self.integration} request failed", exc)
            request = RequestInfo(inputs=None)
        response = ResponseInfo()
        try:
            if self.streamed:
                response = self.reader.chunks(start.request, self.chunks or [])
            elif self.error is None:
                response = self.reader.response(start.request, self.response)
        except Exception as exc:
            internal_error(f"reading a {self.integration} response failed", exc)
        usage = response.usage
        trace_id, span_id = self.span.ids if self.span is not None else (None, None)
        error = None if self.error is None else f"{type(self.error).__name__}: {self.error}"
        options = self.options
        return CallRecord(
            call_id=random_hex(),
            run_id=self.run_id,
            step=self.step,
            timestamp=iso_utc(self.wall_ns),
            integration=self.integration,
            provider=start.provider or self.integration,
            operation=start.operation,
            model=start.model,
            response_model=response.response_model,
            response_id=response.response_id,
            inputs=request.inputs if options.log_inputs else None,
            outputs=response.outputs if options.log_outputs else None,
            params=dict(request.params),
            latency_ms=(self.end_ns - self.start_ns) / 1e6,
            ttft_ms=None if self.ttft_ns is None else (self.ttft_ns - self.start_ns) / 1e6,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            finish_reason=",".join(response.finish_reasons) or None,
            stream=self.streamed or start.stream,
            status="ok" if self.error is None else "error",
            error=error,
            trace_id=trace_id,
            span_id=span_id,
        )

    def _params(self, record: CallRecord) -> list[Record]:
        with _logged_lock:
            logged = _logged_params.setdefault(self.run_id, set())
        records: list[Record] = []
        for key, value in record.params.items():
            if key in logged or value is None:
                continue
            text = value if isinstance(value, str) else _json(value)
            if len(text) <= MAX_PARAM_VALUE_LENGTH:
                logged.add(key)
                records.append(LogParam(self.run_id, key, text))
        return records

    def _metrics(self, record: CallRecord) -> list[Record]:
        when = (self.wall_ns + (self.end_ns - self.start_ns)) // 1_000_000
        records: list[Record] = []
        for name in _METRICS:
            value = getattr(record, name)
            if value is not None:
                records.append(LogMetric(self.run_id, name, float(value), record.step, when))
        return records

    def _row(self, record: CallRecord, inputs: str | None, outputs: str | None) -> Record:
        row = {
            "call_id": record.call_id,
            "step": record.step,
            "timestamp": record.timestamp,
            "integration": record.integration,
            "provider": record.provider,
            "operation": record.operation,
            "model": record.model,
            "response_model": record.response_model,
            "response_id": record.response_id,
            "inputs": inputs,
            "outputs": outputs,
            "params": _json(record.params),
            "latency_ms": round(record.latency_ms, 3),
            "ttft_ms": None if record.ttft_ms is None else round(record.ttft_ms, 3),
            "input_tokens": record.input_tokens,
            "output_tokens": record.output_tokens,
            "total_tokens": record.total_tokens,
            "cached_input_tokens": record.cached_input_tokens,
            "reasoning_tokens": record.reasoning_tokens,
            "finish_reason": record.finish_reason,
            "stream": record.stream,
            "status": record.status,
            "error": record.error,
            "trace_id": record.trace_id,
            "span_id": record.span_id,
            "truncated": ",".join(record.truncated) or None,
        }
        return AppendRows(self.run_id, PREDICTIONS_TABLE, [row])


def iso_utc(wall_ns: int) -> str:
    """``wall_ns`` (ns since the epoch) as ISO 8601 in UTC to the microsecond:
    ``2026-11-28T12:34:56.123456+00:00``. The date and time of the second are remembered:
    calls come many per second, and formatting a datetime costs microseconds each."""
    global _second
    seconds, nanos = divmod(wall_ns, 1_000_000_000)
    if _second[0] != seconds:
        moment = datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
        _second = (seconds, moment.isoformat())
    return f"{_second[1]}.{nanos // 1000:06d}+00:00"


_second: tuple[int, str] = (-1, "")


def _json(value: Any) -> str:
    return _ENCODER.encode(value)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _json(value)


def _fallback(value: Any) -> Any:
    """JSON for what json cannot write: pydantic models, bytes, anything else as text."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_unset=True)
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


def _mask(record: CallRecord, secrets: tuple[str, ...]) -> tuple[str | None, str | None] | None:
    """Replace the client's credentials wherever they show up in the record's text.

    Returns the texts of the record's inputs and outputs when they hold none (the usual
    case: the row reuses them), None when something was replaced."""
    inputs, outputs = _text(record.inputs), _text(record.outputs)
    # one pass of the C encoder per value tells whether any is there (rarely): only then walk
    # the values; a secret is looked for as it is and as JSON escapes it
    texts = [t for t in (inputs, outputs, _json(record.params), record.error) if t]
    wanted = {form for secret in secrets for form in (secret, _json(secret)[1:-1])}
    if not any(form in text for form in wanted for text in texts):
        return inputs, outputs
    for name in ("inputs", "outputs", "params", "error"):
        setattr(record, name, _masked(getattr(record, name), secrets))
    return None


def _masked(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "[REDACTED]")
        return value
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    return value


# made once: json.dumps with options other than its defaults builds an encoder at every call
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, default=_fallback, separators=(",", ":"))


def _texts(
    record: CallRecord, limit: int | None, texts: tuple[str | None, str | None] | None = None
) -> tuple[str | None, str | None]:
    """The row's ``inputs`` and ``outputs`` cells (``texts``, where they were made already);
    where one is longer than ``limit``, it is cut, on the record too, and the record says so."""
    made = texts or (_text(record.inputs), _text(record.outputs))
    cells = []
    for name, text in zip(("inputs", "outputs"), made, strict=True):
        if limit is not None and text is not None and len(text) > limit:
            text = text[:limit]
            setattr(record, name, text)
            record.truncated.append(name)
        cells.append(text)
    return cells[0], cells[1]


def _at_exit() -> None:
    """Finish the calls the program left open (streams not read to the end), then end the
    autolog runs: in this order, as a call finished now may be the first of its run."""
    for call in list(_unfinished.values()):
        call.stream_ended(None, closed=True)
    _runs.end_autolog_runs()


def _forget_in_child() -> None:
    _unfinished.clear()  # the parent's calls: the parent finishes them


os.register_at_fork(after_in_child=_forget_in_child)
_run_manager.before_exit(_at_exit)
