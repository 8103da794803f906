"""A migration that dies part-way (between two batches, right after one, or while copying files)
is completed by the next one: nothing is missing, nothing is there twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tracklm._run_manager.records import Batch
from tracklm.migrate import MigrationReport, migrate
from tracklm.stores import resolve_uri
from tracklm.stores._sql_store import SQLStore
from tracklm.stores.artifacts import LocalArtifactRepository
from tracklm.stores.sqlite import SQLiteStore

from ._data import snapshot
from .conftest import Source


class Killed(BaseException):
    """The process dying at this point (a BaseException: nothing in tracklm catches it)."""


def count_writes(
    monkeypatch: pytest.MonkeyPatch, store_class: type[SQLStore], uri: str
) -> Callable[[], int]:
    """Count the batches written to the store at ``uri``; returns the counter."""
    original = store_class.write_batch
    count = 0

    def write_batch(self: SQLStore, batch: Batch) -> None:
        nonlocal count
        original(self, batch)
        if self.uri == uri:
            count += 1

    monkeypatch.setattr(store_class, "write_batch", write_batch)
    return lambda: count


def die_at_write(
    monkeypatch: pytest.MonkeyPatch, store_class: type[SQLStore], uri: str, n: int, after: bool
) -> None:
    """The ``n``-th batch written to the store at ``uri`` kills the process, before it is
    applied or right after (its commit done, the migration not told)."""
    original = store_class.write_batch
    count = 0

    def write_batch(self: SQLStore, batch: Batch) -> None:
        nonlocal count
        if self.uri != uri:
            original(self, batch)
            return
        count += 1
        if count == n and not after:
            raise Killed
        original(self, batch)
        if count == n:
            raise Killed

    monkeypatch.setattr(store_class, "write_batch", write_batch)


def die_at_file(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    original = LocalArtifactRepository.copy_file
    count = 0

    def copy_file(self: LocalArtifactRepository, *args: Any) -> None:
        nonlocal count
        count += 1
        if count == n:
            raise Killed
        original(self, *args)

    monkeypatch.setattr(LocalArtifactRepository, "copy_file", copy_file)


def interrupted_then_completed(
    source: Source, destination: str, monkeypatch: pytest.MonkeyPatch, kill: Callable[[], None]
) -> MigrationReport:
    """Run a migration that ``kill`` makes die, then one that completes it, then check;
    returns the report of the one that completed it."""
    kill()
    with pytest.raises(Killed):
        migrate(source.uri, destination)
    monkeypatch.undo()
    monkeypatch.setattr("tracklm.migrate._run.MAX_RECORDS", 4)
    completing = migrate(source.uri, destination)
    assert snapshot(destination) == snapshot(source.uri)
    assert not migrate(source.uri, destination).copied_anything
    return completing


def test_killed_between_or_right_after_any_batch_is_completed_by_the_next_migration(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small batches: runs span several, so that some kills leave a run half copied
    monkeypatch.setattr("tracklm.migrate._run.MAX_RECORDS", 4)
    probe = str(tmp_path / "probe")
    writes = count_writes(monkeypatch, SQLiteStore, resolve_uri(probe))
    migrate(source.uri, probe)
    total = writes()
    monkeypatch.undo()
    assert total >= 15

    for n in sorted({1, 2, 3, total // 3, total // 2, total - 2, total - 1, total}):
        for after in (False, True):
            destination = str(tmp_path / f"destination-{n}-{after}")
            monkeypatch.setattr("tracklm.migrate._run.MAX_RECORDS", 4)
            completing = interrupted_then_completed(
                source,
                destination,
                monkeypatch,
                lambda n=n, after=after, destination=destination: die_at_write(  # type: ignore[misc]
                    monkeypatch, SQLiteStore, resolve_uri(destination), n, after
                ),
            )
            # only a kill right after the last batch leaves nothing to do
            assert completing.copied_anything != (after and n == total)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_killed_while_copying_files_is_completed_by_the_next_migration(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    destination = str(tmp_path / "destination")
    completing = interrupted_then_completed(
        source, destination, monkeypatch, lambda: die_at_file(monkeypatch, n)
    )
    assert completing.files_copied == 3 - (n - 1)
    # a run whose files were not all there was left RUNNING until they were
    assert snapshot(destination)["support-bot"][source.ids["parent"]]["info"][1] == "FINISHED"


def test_a_run_left_half_copied_says_running_until_it_is_complete(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status comes last: a destination that says FINISHED holds all of the run."""
    destination = str(tmp_path / "destination")
    die_at_file(monkeypatch, 1)  # the parent's first file: its data is in, its files are not
    with pytest.raises(Killed):
        migrate(source.uri, destination)
    monkeypatch.undo()
    half = snapshot(destination)["support-bot"][source.ids["parent"]]
    full = snapshot(source.uri)["support-bot"][source.ids["parent"]]
    assert half["info"][1] == "RUNNING"
    assert half["history"] == full["history"]
    assert half["tables"] == full["tables"]
    assert len(half["files"]) < len(full["files"])
