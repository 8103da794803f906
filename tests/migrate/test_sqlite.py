"""Migrating between SQLite stores: everything arrives, once, and a second migration is a no-op."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import tracklm
from tracklm import InvalidTrackingUri, StoreError
from tracklm.migrate import MigrationReport, migrate
from tracklm.stores import StoreUnavailable, open_store, resolve_uri
from tracklm.stores.sqlite import SQLiteStore

from ..run_manager._subprocess import WriteLockHolder, env_for, start
from ._data import client_for, populate, runs_frame, snapshot, tables
from .conftest import Source


def db_rows(store: Path, table: str) -> int:
    with sqlite3.connect(store / "tracklm.db") as conn:
        (count,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(count)


def test_every_field_of_every_run_reads_back_the_same(source: Source, tmp_path: Path) -> None:
    destination = str(tmp_path / "destination")
    report = migrate(source.uri, destination)

    expected = snapshot(source.uri)
    assert snapshot(destination) == expected
    pd.testing.assert_frame_equal(runs_frame(destination), runs_frame(source.uri))
    run_ids = list(source.ids.values())
    for copied, original in zip(
        tables(destination, run_ids), tables(source.uri, run_ids), strict=True
    ):
        pd.testing.assert_frame_equal(copied, original)

    created = {e.name: e.creation_time for e in client_for(source.uri).list_experiments()}
    assert {e.name: e.creation_time for e in client_for(destination).list_experiments()} == created
    runs = [run for experiment in expected.values() for run in experiment.values()]
    parent = expected["support-bot"][source.ids["parent"]]
    assert expected["support-bot"][source.ids["child"]]["parent"] == source.ids["parent"]
    assert len(parent["history"]["accuracy"]) == 7  # the same step twice: both kept
    assert len(parent["history"]["latency_ms"]) == 3  # one per autologged call
    assert {"blobs/v1/weights.bin", "notes/deep/readme.md", "config/params.json"} <= set(
        parent["files"]
    )
    assert expected["failing"][source.ids["failed"]]["info"][1] == "FAILED"
    assert expected["Default"][source.ids["running"]]["info"][1:4:2] == ("RUNNING", None)
    assert (report.experiments, report.experiments_created) == (3, 3)
    assert (report.runs_total, report.runs_done, report.runs_created) == (5, 5, 5)
    assert report.metrics == sum(len(h) for r in runs for h in r["history"].values())
    assert report.rows == 3 + 1 + 1 + 3 + 3  # predictions of three runs, two tables
    assert report.files_copied == 3  # the tables' files are written by the destination
    assert report.bytes_copied == 16_384 + len("# Notes\nläuft gut\n".encode()) + len(
        parent["files"]["config/params.json"]
    )
    assert report.skipped == []


def test_a_second_migration_copies_nothing_and_duplicates_nothing(
    source: Source, tmp_path: Path
) -> None:
    destination = tmp_path / "destination"
    migrate(source.uri, destination)
    first = snapshot(str(destination))
    counts = {t: db_rows(destination, t) for t in ("metrics", "table_rows", "applied_batches")}

    again = migrate(source.uri, destination)

    assert not again.copied_anything
    assert (again.runs_done, again.runs_created, again.runs_updated) == (5, 0, 0)
    assert (again.metrics, again.rows, again.params, again.tags) == (0, 0, 0, 0)
    assert (again.files_copied, again.files_present) == (0, 3)
    assert snapshot(str(destination)) == first
    assert {t: db_rows(destination, t) for t in counts} == counts
    assert "Nothing new to copy" in again.summary()


def test_experiments_are_matched_by_name_and_a_taken_id_is_not_reused(
    source: Source, tmp_path: Path
) -> None:
    destination = str(tmp_path / "destination")
    source_id = client_for(source.uri).get_experiment_by_name("support-bot")
    assert source_id is not None
    # the destination has another experiment under support-bot's id, and its own Default run
    open_store(destination).create_experiment("occupant", source_id.experiment_id)
    tracklm.set_tracking_uri(destination)
    tracklm.set_experiment("Default")
    with tracklm.start_run(run_name="already-here") as own:
        tracklm.log_metric("x", 1.0)
    tracklm.flush()
    before = snapshot(destination)["Default"][own.info.run_id]

    report = migrate(source.uri, destination)

    client = client_for(destination)
    names = {e.experiment_id: e.name for e in client.list_experiments()}
    assert names[source_id.experiment_id] == "occupant"
    assert sorted(names.values()) == ["Default", "failing", "occupant", "support-bot"]
    assert names["0"] == "Default"
    copied, expected = snapshot(destination), snapshot(source.uri)
    assert copied["Default"].pop(own.info.run_id) == before
    assert copied == expected
    assert (report.experiments, report.experiments_created) == (3, 2)
    assert not client.search_runs([source_id.experiment_id])  # nothing went to the occupant


def test_what_the_source_logs_after_a_migration_is_copied_by_the_next(
    source: Source, tmp_path: Path
) -> None:
    destination = str(tmp_path / "destination")
    migrate(source.uri, destination)
    client = client_for(source.uri)
    running = source.ids["running"]
    client.log_metric(running, "heartbeat", 2.0, step=1)
    client.log_metric(running, "heartbeat", 2.0, step=1)  # the same value again: kept twice
    client.log_param(running, "late", "yes")
    client.set_tag(running, "stage", "done")
    client.log_table(running, {"i": [1, 2]}, "late.csv")
    client.log_table(source.ids["parent"], {"line": [4]}, "log.jsonl")
    client.log_text(running, "later", "later/notes.txt")
    client.set_terminated(running)
    tracklm.set_tracking_uri(source.uri)
    tracklm.set_experiment("newer")
    with tracklm.start_run(run_name="new-run"):
        tracklm.log_metric("y", 3.0)
    assert tracklm.flush().ok

    report = migrate(source.uri, destination)

    names = ("support-bot", "failing", "Default", "newer")
    assert snapshot(destination, names=names) == snapshot(source.uri, names=names)
    assert (report.runs_created, report.runs_updated, report.experiments_created) == (1, 2, 1)
    assert (report.metrics, report.rows, report.params, report.tags) == (3, 3, 1, 1)
    assert (report.files_copied, report.files_present) == (1, 3)


def test_a_batch_whose_acknowledgement_was_lost_is_not_applied_twice(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The destination commits, then the write fails as if the connection dropped: the batch
    is sent again with the same id and the store skips it."""
    destination = str(tmp_path / "destination")
    original = SQLiteStore.write_batch
    sent: list[str] = []

    def write_batch(self: SQLiteStore, batch: tracklm._run_manager.records.Batch) -> None:
        original(self, batch)
        if self.uri == resolve_uri(destination):
            sent.append(batch.batch_id)
            if sent.count(batch.batch_id) == 1:
                raise StoreUnavailable("the connection dropped before the commit was confirmed")

    monkeypatch.setattr(SQLiteStore, "write_batch", write_batch)
    migrate(source.uri, destination)
    monkeypatch.undo()

    assert len(sent) == 2 * len(set(sent))  # each batch sent twice
    assert snapshot(destination) == snapshot(source.uri)


def test_a_source_being_written_is_copied_as_far_as_it_got_and_completed_later(
    source: Source, tmp_path: Path
) -> None:
    writer = start(
        """
        import time, tracklm
        tracklm.set_experiment("live")
        for r in range(6):
            with tracklm.start_run(run_name=f"live-{r}"):
                for i in range(60):
                    tracklm.log_metric("x", i, step=i)
                    tracklm.log_table({"i": [i], "text": ["word " * 50]}, "predictions.csv")
                    time.sleep(0.004)
        print("done", tracklm.flush(timeout=30).ok, flush=True)
        """,
        env_for(Path(source.uri), tmp_path / "journal"),
    )
    destination = str(tmp_path / "destination")
    during: list[MigrationReport] = []
    while writer.poll() is None:
        during.append(migrate(source.uri, destination))
    out, err = writer.communicate(timeout=60)
    assert out.split() == ["done", "True"], err
    migrate(source.uri, destination)

    names = ("support-bot", "failing", "Default", "live")
    copied = snapshot(destination, names=names)
    assert copied == snapshot(source.uri, names=names)
    assert len(copied["live"]) == 6
    assert len(during) >= 2, "the writer finished before two migrations ran"
    assert any(r.runs_updated for r in during[1:]) or any(r.runs_created for r in during[1:])
    for store in (Path(source.uri), Path(destination)):
        with sqlite3.connect(store / "tracklm.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_records_a_dead_process_left_in_the_sources_journal_are_migrated(
    source: Source, tmp_path: Path
) -> None:
    holder = WriteLockHolder(Path(source.uri) / "tracklm.db")
    proc = start(
        """
        import time, tracklm
        tracklm.set_experiment("support-bot")
        with tracklm.start_run(run_name="journaled") as run:
            for i in range(50):
                tracklm.log_metric("value", i, step=i)
            result = tracklm.flush(timeout=0.5)
            print(run.info.run_id, result.pending, flush=True)
            time.sleep(60)
        """,
        env_for(Path(source.uri), tmp_path / "journal"),
    )
    assert proc.stdout is not None
    run_id, pending = proc.stdout.readline().split()
    assert int(pending) > 50  # journaled: the store was locked
    proc.kill()
    proc.wait(timeout=10)
    holder.release()
    destination = str(tmp_path / "destination")

    migrate(source.uri, destination)

    history = client_for(destination).get_metric_history(run_id, "value")
    assert [m.value for m in history] == [float(i) for i in range(50)]
    assert snapshot(destination) == snapshot(source.uri)


def test_a_destination_that_refuses_writes_stops_the_migration_and_the_next_completes_it(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = tmp_path / "destination"
    open_store(str(destination)).list_experiments()  # the database exists, to be locked
    monkeypatch.setattr("tracklm.migrate._copy.WRITE_PATIENCE", 0.5)
    holder = WriteLockHolder(destination / "tracklm.db")
    try:
        with pytest.raises(StoreError, match=r"refused writes .* run the migration again"):
            migrate(source.uri, destination)
    finally:
        holder.release()
    migrate(source.uri, destination)
    assert snapshot(str(destination)) == snapshot(source.uri)


def test_the_migrated_store_takes_more_logging_into_migrated_runs(
    source: Source, tmp_path: Path
) -> None:
    destination = str(tmp_path / "destination")
    migrate(source.uri, destination)
    client = client_for(destination)
    parent = source.ids["parent"]
    client.log_table(parent, {"question": ["d"], "score": [0.1]}, "evals/scores.json")
    client.log_metric(parent, "accuracy", 1.0, step=6)
    with pytest.raises(tracklm.ParamOverwrite):
        client.log_param(parent, "prompt", "another")
    client.flush()

    frame = client.load_table(None, "evals/scores.json", run_ids=[parent])
    assert list(frame["question"]) == ["a", "b", "c", "d"]
    assert client.get_run(parent).data.metrics["accuracy"] == 1.0
    file = client.read_artifact(parent, "evals/scores.json").decode()
    assert file.startswith('{"columns": ["question", "score", "judge"]')
    assert '["d", 0.1, null]' in file


def test_a_link_out_of_a_source_run_folder_is_not_followed(source: Source, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("not part of any run")
    run = client_for(source.uri).get_run(source.ids["default"])
    folder = client_for(source.uri).artifact_dir(run.info.run_id)
    (folder / "escape.txt").symlink_to(secret)
    destination = str(tmp_path / "destination")

    report = migrate(source.uri, destination)

    assert "escape.txt" not in client_for(destination).list_artifacts(run.info.run_id)
    assert [r for r in report.skipped if "escape.txt" in r]


# -- misuse ------------------------------------------------------------------------------------


def test_the_same_store_twice_is_refused(source: Source) -> None:
    with pytest.raises(InvalidTrackingUri, match="same store"):
        migrate(source.uri, f"sqlite:///{source.uri}/tracklm.db")


def test_a_missing_source_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no tracklm store at .*missing"):
        migrate(tmp_path / "missing", tmp_path / "destination")
    assert not (tmp_path / "missing").exists()
    assert not (tmp_path / "destination").exists()


def test_an_empty_source_is_refused(tmp_path: Path) -> None:
    open_store(str(tmp_path / "empty")).list_experiments()
    with pytest.raises(StoreError, match="holds no experiments"):
        migrate(tmp_path / "empty", tmp_path / "destination")


def test_an_unreachable_destination_is_a_store_error(source: Source) -> None:
    from ..stores.conftest import closed_port

    unreachable = f"postgresql://tracklm@127.0.0.1:{closed_port()}/nowhere"
    with pytest.raises(StoreError, match=r"Cannot read the store postgresql://.*nowhere"):
        migrate(source.uri, unreachable, dst_artifact_root=source.uri + "-artifacts")


def test_a_script_can_migrate_with_one_import(source: Source, tmp_path: Path) -> None:
    """``from tracklm.migrate import migrate`` works in a fresh interpreter, and the public
    module does not import pandas (the CLI and ``import tracklm`` stay light)."""
    code = textwrap.dedent(
        f"""
        import sys
        from tracklm.migrate import migrate
        assert "pandas" not in sys.modules
        report = migrate({source.uri!r}, {str(tmp_path / "destination")!r})
        print(report.runs_created)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env_for(Path(source.uri), tmp_path / "journal"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert out.strip() == "5"


def test_many_runs_are_copied_in_batches_of_bounded_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = str(tmp_path / "many")
    populate(uri, tmp_path, runs=3)
    monkeypatch.setattr("tracklm.migrate._run.MAX_RECORDS", 4)
    sizes: list[int] = []
    original = SQLiteStore.write_batch

    def write_batch(self: SQLiteStore, batch: tracklm._run_manager.records.Batch) -> None:
        from tracklm._run_manager.records import AppendRows

        sizes.append(sum(len(r.rows) if isinstance(r, AppendRows) else 1 for r in batch.records))
        original(self, batch)

    monkeypatch.setattr(SQLiteStore, "write_batch", write_batch)
    destination = str(tmp_path / "destination")
    migrate(uri, destination)
    monkeypatch.undo()

    assert max(sizes) <= 4
    names = ("support-bot", "failing", "Default")
    assert snapshot(destination, names=names) == snapshot(uri, names=names)
