"""Log a recurring internal problem once, not once per call.

tracklm runs inside the user's hot path and its own background thread; a broken store or a
bug must not flood the user's logs, yet the first occurrence must be seen.
"""

from __future__ import annotations

import logging
import threading

_seen: set[tuple[str, str]] = set()
_lock = threading.Lock()
_quiet = False


def set_quiet(quiet: bool) -> None:
    """Log first occurrences at DEBUG too (``autolog(silent=True)``)."""
    global _quiet
    _quiet = quiet


def log_once(logger: logging.Logger, what: str, exc: BaseException | None = None) -> None:
    """Log ``what`` (and ``exc``) at WARNING the first time, at DEBUG afterwards."""
    key = (what, type(exc).__name__ if exc is not None else "")
    with _lock:
        first = key not in _seen
        _seen.add(key)
    if first and not _quiet:
        logger.warning("%s%s", what, f": {exc!r}" if exc is not None else "", exc_info=exc)
    else:
        logger.debug("%s: %r", what, exc)
