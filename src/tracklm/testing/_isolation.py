"""A fresh tracklm for one test: its own store and journal, nothing left behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_VARIABLES = (
    "TRACKLM_TRACKING_URI",
    "TRACKLM_EXPERIMENT_NAME",
    "TRACKLM_EXIT_TIMEOUT",
    "TRACKLM_AUTOLOG_DISABLED",
    "TRACKLM_JOURNAL_DIR",
)


@contextmanager
def isolated_tracklm(folder: str | os.PathLike[str], *, strict: bool = True) -> Iterator[Path]:
    """Log into a fresh store ``folder/store`` (journal in ``folder/journal``) for the block.

    tracklm's environment variables are cleared, no run is active, and internal errors of
    instrumentation raise (``strict``) instead of being logged. On exit autolog is turned off,
    its runs ended, every record flushed and the store closed; the environment is restored.
    Yields the store's folder::

        with isolated_tracklm(tmp_path) as store:
            tracklm.autolog()
            my_app.answer("hi")
            assert len(tracklm.load_table("predictions.csv")) == 1
    """
    import tracklm
    from tracklm import _fluent, _run_manager
    from tracklm.autolog import _runs, set_strict

    base = Path(folder)
    saved = {name: os.environ.pop(name, None) for name in _VARIABLES}
    os.environ["TRACKLM_JOURNAL_DIR"] = str(base / "journal")
    _fluent._reset()
    store = base / "store"
    tracklm.set_tracking_uri(str(store))
    set_strict(strict)
    try:
        yield store
    finally:
        tracklm.autolog(disable=True)
        _runs.end_autolog_runs()
        _fluent._reset()
        _run_manager.shutdown_all(timeout=10)
        set_strict(False)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
