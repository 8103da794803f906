"""Buffered, journaled delivery of logged records to a store (one manager per store).

``manager_for(uri)`` returns this process's manager for a tracking URI, creating it (and its
store) on first use. At interpreter exit, callbacks registered with ``before_exit`` run first
(the fluent API ends its open runs there), then every manager flushes for at most
``TRACKLM_EXIT_TIMEOUT`` seconds (default 5) and journals what is left.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tracklm._files import private_dirs
from tracklm._run_manager.journal import default_journal_root, fallback_root, store_key
from tracklm._run_manager.manager import RunManager
from tracklm.stores import open_store

__all__ = [
    "RunManager",
    "before_exit",
    "exit_timeout",
    "manager_for",
    "managers",
    "shutdown_all",
]

logger = logging.getLogger("tracklm.run_manager")

_managers: dict[str, RunManager] = {}
_lock = threading.Lock()
_before_exit: list[Callable[[], None]] = []


def manager_for(uri: str) -> RunManager:
    """This process's run manager for the store at the normalized tracking ``uri``."""
    manager = _managers.get(uri)
    if manager is None:
        with _lock:
            manager = _managers.get(uri)
            if manager is None:
                store = open_store(uri)
                manager = RunManager(store, _journal_root(store.uri))
                _managers[uri] = manager
    return manager


def managers() -> list[RunManager]:
    return list(_managers.values())


def before_exit(callback: Callable[[], None]) -> None:
    """Run ``callback`` at exit before the final flush (for records still to be logged)."""
    _before_exit.append(callback)


def exit_timeout() -> float:
    """Seconds the exit flush may take, from ``TRACKLM_EXIT_TIMEOUT`` (default 5)."""
    try:
        return max(0.0, float(os.environ.get("TRACKLM_EXIT_TIMEOUT", "5")))
    except ValueError:
        return 5.0


def _journal_root(uri: str) -> Path:
    root = default_journal_root()
    try:
        private_dirs(root)
        if os.access(root, os.W_OK):
            return root / store_key(uri)
    except OSError:
        pass
    return fallback_root() / store_key(uri)


def shutdown_all(timeout: float) -> None:
    """Flush and stop every manager within ``timeout`` seconds in all; forget them."""
    with _lock:
        stopping = list(_managers.values())
        _managers.clear()
    deadline = time.monotonic() + timeout
    for manager in stopping:
        result = manager.shutdown(max(0.0, deadline - time.monotonic()))
        if result.pending or result.dropped:
            logger.warning(
                "tracklm exited with %d records not yet in the store (kept in the journal for "
                "the next process) and %d dropped",
                result.pending,
                result.dropped,
            )


@atexit.register
def _at_exit() -> None:
    for callback in _before_exit:
        try:
            callback()
        except Exception:
            logger.warning("tracklm: an exit callback failed", exc_info=True)
    shutdown_all(exit_timeout())
