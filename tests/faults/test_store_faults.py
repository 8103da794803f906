"""A store that refuses writes for a while - locked by another process, read-only, on a full
disk - costs the app nothing: its calls answer as before, without waiting, and every record
waits in the journal (or in memory) until the store takes it."""

from __future__ import annotations

import errno
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tracklm
from tracklm._run_manager import journal as journal_module
from tracklm._run_manager import manager_for
from tracklm.testing import LLMServer

from ..run_manager._subprocess import WriteLockHolder, env_for, run
from ._app import assert_store_whole, client, rows, user
from ._freeze import freezable, read_only, tree

__all__ = ["freezable"]  # a fixture, imported for the tests below

HOT_PATH_LIMIT = 1.0
"""Seconds a call may take against a local server on a loaded machine: far below the
seconds a call waiting for the store would take."""


def calls(server: LLMServer, prefix: str, n: int) -> float:
    """Make ``n`` chat calls; check each reply; return the slowest call's seconds."""
    chat = client(server).chat.completions
    slowest = 0.0
    for i in range(n):
        started = time.perf_counter()
        reply = chat.create(model="m", messages=user(f"{prefix} {i}"))
        slowest = max(slowest, time.perf_counter() - started)
        assert reply.choices[0].message.content == f"echo: {prefix} {i}"
    return slowest


def assert_every_call_stored(prefixes: dict[str, int]) -> None:
    stored = [r["outputs"] for r in rows()]
    expected = [f"echo: {p} {i}" for p, n in prefixes.items() for i in range(n)]
    assert sorted(stored) == sorted(expected)
    assert len(stored) == len(set(stored))  # none twice


def test_calls_go_on_while_another_process_holds_the_write_lock(
    server: LLMServer, store_dir: Path
) -> None:
    calls(server, "before", 3)
    assert tracklm.flush().ok
    holder = WriteLockHolder(store_dir / "tracklm.db")
    try:
        started = time.monotonic()
        slowest = calls(server, "during", 40)
        held = tracklm.flush(timeout=2)
        assert time.monotonic() - started < 30
    finally:
        holder.release()
    assert slowest < HOT_PATH_LIMIT
    assert held.pending >= 40
    assert held.dropped == 0
    assert_every_call_stored({"before": 3, "during": 40})
    assert_store_whole(store_dir)


def test_a_first_call_while_readers_are_locked_out_too_does_not_wait(
    server: LLMServer, store_dir: Path, tmp_path: Path
) -> None:
    """A process that starts while another holds the store in SQLite's exclusive locking
    mode (no readers either): its first autologged call must not wait to read the store."""
    run("import tracklm; tracklm.TracklmClient().list_experiments()", env_for(store_dir, tmp_path))
    holder = WriteLockHolder(store_dir / "tracklm.db", readers_too=True)
    try:
        slowest = calls(server, "locked", 5)
        held = tracklm.flush(timeout=1)
    finally:
        holder.release()
    assert slowest < HOT_PATH_LIMIT
    assert (held.written, held.dropped) == (0, 0)
    assert_every_call_stored({"locked": 5})


@pytest.mark.usefixtures("freezable")
def test_calls_go_on_while_the_store_is_read_only_and_arrive_once_it_is_writable(
    server: LLMServer, store_dir: Path
) -> None:
    calls(server, "before", 3)
    assert tracklm.flush().ok
    with read_only(tree(store_dir)):
        slowest = calls(server, "read-only", 30)
        held = tracklm.flush(timeout=2)
    assert slowest < HOT_PATH_LIMIT
    assert held.pending >= 30
    assert held.dropped == 0
    assert_every_call_stored({"before": 3, "read-only": 30})
    assert_store_whole(store_dir)


@pytest.mark.usefixtures("freezable")
def test_a_store_read_only_before_it_is_made_keeps_every_record_until_it_is_writable(
    server: LLMServer, store_dir: Path
) -> None:
    """The first connection cannot even create the database: its records are journaled,
    not taken for bad records and dropped."""
    store_dir.mkdir()
    with read_only([store_dir]):
        slowest = calls(server, "no-db", 10)
        held = tracklm.flush(timeout=2)
    assert slowest < HOT_PATH_LIMIT
    assert held.pending > 0
    assert held.dropped == 0
    assert_every_call_stored({"no-db": 10})


def _disk_full(error: Exception) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise error

    return refuse


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        sqlite3.OperationalError("database or disk is full"),
    ],
    ids=["table-file", "database"],
)
@pytest.mark.parametrize("journal_full", [False, True], ids=["journal-ok", "journal-full"])
def test_calls_go_on_while_the_disk_is_full_and_arrive_once_there_is_room(
    server: LLMServer,
    store_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    journal_full: bool,
) -> None:
    """The error is raised inside the store's write transaction (rolled back), as a full disk
    fails a table file's write or SQLite's; with the journal on the same disk, records wait
    in memory."""
    calls(server, "before", 3)
    assert tracklm.flush().ok
    store = manager_for(tracklm.get_tracking_uri()).store
    monkeypatch.setattr(store, "_apply", _disk_full(error))
    if journal_full:
        monkeypatch.setattr(journal_module.Journal, "append", _disk_full(OSError(errno.ENOSPC)))
    slowest = calls(server, "full", 30)
    held = tracklm.flush(timeout=2)
    monkeypatch.undo()  # room again
    assert slowest < HOT_PATH_LIMIT
    assert held.pending >= 30
    assert held.dropped == 0
    assert_every_call_stored({"before": 3, "full": 30})
    assert_store_whole(store_dir)


def test_a_table_path_that_can_never_be_written_does_not_hold_up_the_records_after_it(
    server: LLMServer, store_dir: Path
) -> None:
    """A folder put where a table's file goes (after tracklm checked the path) makes that
    table's rows impossible to write: they are dropped and counted, and the records behind
    them - this run, later calls - still arrive, instead of waiting forever."""
    with tracklm.start_run() as run:
        tracklm.log_table({"n": [0]}, "t.csv")
        assert tracklm.flush().ok
        folder = tracklm.TracklmClient().artifact_dir(run.info.run_id)
        (folder / "t.csv").unlink()
        (folder / "t.csv").mkdir()
        tracklm.log_table({"n": [1]}, "t.csv")  # checked once already: no new check
        calls(server, "after", 3)
    result = tracklm.flush(timeout=10)
    assert (result.pending, result.dropped) == (0, 1)
    table = tracklm.load_table("predictions.csv", run_ids=[run.info.run_id])
    assert sorted(table["outputs"]) == [f"echo: after {i}" for i in range(3)]
    assert tracklm.get_run(run.info.run_id).info.status == "FINISHED"
    assert sorted(p.name for p in folder.iterdir()) == ["predictions.csv", "t.csv"]  # no tmp file
