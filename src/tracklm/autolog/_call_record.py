"""``CallRecord``: one recorded LLM call, as ``redact`` receives it and the row is built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallRecord:
    """One LLM call, read into plain values on tracklm's background thread.

    A ``redact`` callable given to :func:`tracklm.autolog` receives this object and returns
    it changed (or None to keep no row of the call); ``inputs``, ``outputs`` and ``params``
    are what it will usually edit.
    """

    call_id: str
    run_id: str
    step: int
    timestamp: str
    """Start of the call, ISO-8601 UTC."""
    integration: str
    provider: str
    operation: str
    model: str | None
    response_model: str | None
    response_id: str | None
    inputs: Any
    outputs: Any
    params: dict[str, Any]
    latency_ms: float
    ttft_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cached_input_tokens: int | None
    reasoning_tokens: int | None
    finish_reason: str | None
    stream: bool
    status: str
    """``ok`` or ``error``."""
    error: str | None
    """``Type: message`` of the exception the call raised."""
    trace_id: str | None = None
    span_id: str | None = None
    truncated: list[str] = field(default_factory=list)
    """The fields cut to ``max_text_chars``."""
