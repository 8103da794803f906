"""Errors inside tracklm never reach the user's call; tests can make them raise instead.

Every place where instrumentation code runs on the user's path catches its own exceptions,
logs the first one of each kind (``logging.getLogger("tracklm")``) and lets the user's call go
on as if tracklm were not there. Strict mode, for tests, re-raises them so bugs are seen.
"""

from __future__ import annotations

import logging
import os

from tracklm._log_once import log_once

logger = logging.getLogger("tracklm.autolog")

_strict = os.environ.get("TRACKLM_STRICT", "").strip().lower() in {"1", "true", "yes", "on"}


def set_strict(strict: bool) -> None:
    """In strict mode internal errors of instrumentation raise (for tests); off by default."""
    global _strict
    _strict = strict


def is_strict() -> bool:
    return _strict


def internal_error(what: str, exc: BaseException) -> None:
    """Report an internal error: raise it in strict mode, else log it once."""
    if _strict:
        raise exc
    log_once(logger, f"tracklm: {what} (your call is unaffected)", exc)
