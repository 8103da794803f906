"""``tracklm.autolog()``: record every LLM call of every installed integration.

::

    import tracklm
    tracklm.autolog()                       # every installed integration, now and on import
    tracklm.autolog(include=["openai"], log_outputs=False, redact=scrub, max_text_chars=4000)
    tracklm.autolog(disable=True)           # the SDKs' original methods are back

Each call becomes a row of the run's ``predictions.csv`` table, its request parameters the
run's params (the first value wins), and its latency and token counts metrics at step = the
call's number in the run. Calls go into the active run of their thread or task, or else into
one autolog run per process and experiment, ended at exit. Opt out with
``@tracklm.no_autolog``, ``with tracklm.autolog_disabled():`` or
``TRACKLM_AUTOLOG_DISABLED=1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tracklm import _log_once
from tracklm._errors import InvalidValue
from tracklm.autolog import _options, _patching
from tracklm.autolog._call_record import CallRecord
from tracklm.autolog._discovery import discover
from tracklm.autolog._optout import autolog_disabled, no_autolog
from tracklm.autolog._shield import set_strict

__all__ = ["CallRecord", "autolog", "autolog_disabled", "no_autolog", "set_strict"]


def autolog(
    disable: bool = False,
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    log_inputs: bool = True,
    log_outputs: bool = True,
    redact: Callable[[CallRecord], CallRecord | None] | None = None,
    max_text_chars: int | None = 100_000,
    silent: bool = False,
) -> list[str]:
    """Record every call of the installed LLM SDKs; returns the integrations enabled.

    Args:
        disable: turn autolog off and put the SDKs' original methods back.
        include: names of the integrations to enable (default: every installed one).
        exclude: names of integrations to leave alone.
        log_inputs: record prompts / messages (``inputs`` column).
        log_outputs: record responses (``outputs`` column).
        redact: called on tracklm's background thread with each :class:`CallRecord`; return
            it changed, or None to keep no row of that call.
        max_text_chars: longer ``inputs`` / ``outputs`` are cut to this many characters and
            the row's ``truncated`` column names them; None keeps everything.
        silent: log tracklm's own warnings at DEBUG instead of WARNING.

    Calling it again replaces the options; SDK methods are never wrapped twice.
    """
    if disable:
        _options.current = None
        _patching.disable()
        return []
    if max_text_chars is not None and (not isinstance(max_text_chars, int) or max_text_chars < 1):
        raise InvalidValue(
            f"max_text_chars must be a positive int or None, got {max_text_chars!r}."
        )
    if redact is not None and not callable(redact):
        raise InvalidValue(f"redact must be a callable taking a CallRecord, got {redact!r}.")
    available = discover()
    wanted = set(available if include is None else include)
    unknown = wanted - set(available)
    if include is not None and unknown:
        raise InvalidValue(
            f"No installed integration is named {sorted(unknown)}; installed: "
            f"{sorted(available) or 'none'} (install e.g. tracklm-openai)."
        )
    wanted -= set(exclude or ())
    _log_once.set_quiet(silent)
    _options.current = _options.AutologOptions(
        log_inputs=log_inputs,
        log_outputs=log_outputs,
        redact=redact,
        max_text_chars=max_text_chars,
        silent=silent,
    )
    _patching.enable({name: available[name] for name in sorted(wanted)})
    return sorted(wanted)
