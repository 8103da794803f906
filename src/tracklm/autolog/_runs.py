"""Which run an autologged call goes to, and its step in that run.

Into the active run of the caller's context; where none is active, into one autolog run per
process, store and experiment, started at the first call and ended FINISHED at exit. Steps
count the calls of a run from 1.
"""

from __future__ import annotations

import itertools
import os
import threading
from datetime import datetime, timezone

from tracklm import _config, _fluent
from tracklm._fluent import ActiveRun
from tracklm.client import TracklmClient
from tracklm.entities import RunStatus

_autolog_runs: dict[tuple[str, str], tuple[TracklmClient, str]] = {}
_steps: dict[str, itertools.count[int]] = {}
_lock = threading.Lock()


def target_run(stack: tuple[ActiveRun, ...]) -> tuple[TracklmClient, str, int]:
    """(client, run id, step) for a call made where ``stack`` was the context's active runs
    (the next step of that run)."""
    if stack:
        client, run_id = stack[-1]._client, stack[-1].info.run_id
    else:
        key = (_config.current_tracking_uri() or "", _config.current_experiment_name())
        found = _autolog_runs.get(key)
        client, run_id = found if found is not None else _autolog_run(key)
    steps = _steps.get(run_id)
    if steps is None:
        with _lock:
            steps = _steps.setdefault(run_id, itertools.count(1))
    return client, run_id, next(steps)


def _autolog_run(key: tuple[str, str]) -> tuple[TracklmClient, str]:
    with _lock:
        found = _autolog_runs.get(key)
        if found is None:
            client = _fluent._client()
            # no store read on the user's call: a locked store would keep the call waiting
            experiment_id = client.experiment_id_by_name(key[1], lookup=False)
            started = datetime.now(timezone.utc).strftime("%Y-%m-%d-%H%M%S")
            run = client.create_run(
                experiment_id,
                run_name=f"autolog-{started}-{os.getpid()}",
                tags={"tracklm.autolog": "true", "tracklm.pid": str(os.getpid())},
            )
            found = _autolog_runs[key] = (client, run.info.run_id)
    return found


def end_autolog_runs(status: str = RunStatus.FINISHED) -> None:
    """End this process's autolog runs (at exit, and when autolog is turned off)."""
    with _lock:
        runs = list(_autolog_runs.values())
        _autolog_runs.clear()
    for client, run_id in runs:
        client.set_terminated(run_id, status)


def _forget_in_child() -> None:
    # a forked child records into autolog runs of its own, not its parent's
    _autolog_runs.clear()
    _steps.clear()


os.register_at_fork(after_in_child=_forget_in_child)
