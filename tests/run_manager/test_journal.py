"""Records the store refuses wait in the journal and arrive once it takes writes again."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import tracklm
from tracklm._run_manager import journal as journal_module
from tracklm._run_manager.records import Batch, LogMetric
from tracklm.stores.sqlite import SQLiteStore

from ._subprocess import WriteLockHolder, env_for, start


def _db(store_dir: Path) -> Path:
    return store_dir / "tracklm.db"


def test_records_logged_while_another_process_holds_the_lock_all_arrive(
    store_dir: Path,
) -> None:
    with tracklm.start_run() as run:
        tracklm.log_metric("before", 1.0)
        assert tracklm.flush().ok
        holder = WriteLockHolder(_db(store_dir))
        for i in range(300):
            tracklm.log_metric("during", i, step=i)
            tracklm.log_table({"i": [i]}, "rows.csv")
        held = tracklm.flush(timeout=0.5)
        assert held.pending == 600  # kept in the journal, reported, not lost
        assert held.dropped == 0
        holder.release()
    result = tracklm.flush(timeout=30)
    assert result.ok, result

    client = tracklm.TracklmClient()
    assert len(client.get_metric_history(run.info.run_id, "during")) == 300
    table = tracklm.load_table("rows.csv")
    assert list(table["i"]) == list(range(300))  # in order
    assert tracklm.get_run(run.info.run_id).info.status == "FINISHED"


def test_a_journal_left_by_a_killed_process_is_replayed_by_the_next_one(
    store_dir: Path, tmp_path: Path
) -> None:
    tracklm.TracklmClient().list_experiments()  # create the store
    holder = WriteLockHolder(_db(store_dir))
    code = """
    import time, tracklm
    with tracklm.start_run(run_name="orphan") as run:
        for i in range(500):
            tracklm.log_metric("value", i, step=i)
        result = tracklm.flush(timeout=0.5)
        print(run.info.run_id, result.pending, flush=True)
        time.sleep(60)
    """
    proc = start(code, env_for(store_dir, tmp_path / "journal"))
    assert proc.stdout is not None
    run_id, pending = proc.stdout.readline().split()
    assert int(pending) == 502  # the experiment, the run and its metrics, all journaled
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    holder.release()

    # this process opens the same store: its flusher adopts the dead process's journal
    tracklm.set_experiment("another")
    with tracklm.start_run():
        tracklm.log_metric("x", 1.0)
    assert tracklm.flush(timeout=30).ok
    history = tracklm.TracklmClient().get_metric_history(run_id, "value")
    assert [m.value for m in history] == [float(i) for i in range(500)]
    assert tracklm.get_run(run_id).info.run_name == "orphan"
    assert not any((tmp_path / "journal").rglob("*.jsonl"))


def test_a_batch_applied_twice_is_stored_once(store_dir: Path) -> None:
    store = SQLiteStore(_db(store_dir))
    batch = Batch([LogMetric("r1", "m", 1.0, 0, 1)])
    store.write_batch(batch)
    store.write_batch(Batch.from_json(batch.to_json()))
    assert len(store.get_metric_history("r1", "m")) == 1


def test_a_torn_last_journal_line_is_skipped(tmp_path: Path) -> None:
    """A process killed mid-write leaves half a line; the whole batches before it survive."""
    segment = tmp_path / "1.jsonl"
    whole = Batch([LogMetric("r", "m", 1.0, 0, 1)]).to_json()
    segment.write_text(whole + "\n" + whole[: len(whole) // 2])
    batches = list(journal_module.read_batches(segment))
    assert len(batches) == 1


def test_records_are_held_in_memory_when_even_the_journal_cannot_be_written(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: object, batch: Batch) -> None:
        raise OSError(28, "No space left on device")

    with tracklm.start_run() as run:
        tracklm.flush()
        holder = WriteLockHolder(_db(store_dir))
        monkeypatch.setattr(journal_module.Journal, "append", refuse)
        for i in range(50):
            tracklm.log_metric("m", i, step=i)
        result = tracklm.flush(timeout=0.5)
        assert (result.pending, result.dropped) == (50, 0)
        monkeypatch.undo()
        holder.release()
    time.sleep(0.1)
    assert tracklm.flush(timeout=30).ok
    assert len(tracklm.TracklmClient().get_metric_history(run.info.run_id, "m")) == 50


def test_flush_retries_the_journal_until_the_store_takes_it_within_the_timeout(
    store_dir: Path,
) -> None:
    """A lock held for a moment by another process delays records; it does not leave them
    in the journal for a later process when the caller gave flush time to wait."""
    with tracklm.start_run() as run:
        tracklm.log_metric("before", 1.0)
        assert tracklm.flush().ok
        holder = WriteLockHolder(_db(store_dir))
        for i in range(100):
            tracklm.log_metric("during", i, step=i)
        assert tracklm.flush(timeout=0.5).pending == 100  # refused, journaled
        threading.Timer(0.5, holder.release).start()
        result = tracklm.flush(timeout=30)
    assert (result.pending, result.dropped) == (0, 0)
    history = tracklm.TracklmClient().get_metric_history(run.info.run_id, "during")
    assert [m.value for m in history] == [float(i) for i in range(100)]


def test_the_exit_flush_writes_the_journal_once_the_store_takes_writes_again(
    store_dir: Path, tmp_path: Path
) -> None:
    tracklm.TracklmClient().list_experiments()  # create the store
    code = """
    import sys, tracklm
    with tracklm.start_run(run_name="leaving") as run:
        tracklm.log_metric("value", 1.0)
        assert tracklm.flush().ok
        print(run.info.run_id, flush=True)
        sys.stdin.readline()  # the test takes the store's lock meanwhile
        for i in range(200):
            tracklm.log_metric("value", i, step=i)
        print(tracklm.flush(timeout=0.5).pending, flush=True)
        sys.stdin.readline()  # the test releases the lock in a moment
    """
    env = env_for(store_dir, tmp_path / "journal", TRACKLM_EXIT_TIMEOUT="30")
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    holder = WriteLockHolder(_db(store_dir))
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert int(proc.stdout.readline()) == 200  # refused, journaled
    proc.stdin.write("\n")
    proc.stdin.flush()
    threading.Timer(0.5, holder.release).start()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "not yet in the store" not in err

    # read with no journal of the other process's left to adopt: it wrote everything itself
    assert not any((tmp_path / "journal").rglob("*.jsonl"))
    history = tracklm.TracklmClient().get_metric_history(run_id, "value")
    assert len(history) == 201
    assert tracklm.get_run(run_id).info.status == "FINISHED"


def test_a_journal_folder_is_never_adopted_while_its_owner_sets_it_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process scanning for orphans between the owner making its folder and locking
    it would take the free lock, adopt the empty folder and delete it under the owner."""
    owner = journal_module.Journal(tmp_path)
    scanner = journal_module.Journal(tmp_path)
    adopted: list[Path] = []
    real_flock = journal_module.fcntl.flock

    def flock_after_a_scan(fd: int, operation: int) -> None:
        if operation == journal_module.fcntl.LOCK_EX:  # the owner's blocking lock
            for folder, _segments in scanner.orphans():
                adopted.append(folder)
                shutil.rmtree(folder)
        real_flock(fd, operation)

    monkeypatch.setattr(journal_module.fcntl, "flock", flock_after_a_scan)
    owner.append(Batch([LogMetric("r", "m", 1.0, 0, 1)]))
    monkeypatch.undo()

    assert adopted == []
    (segment,) = owner.segments()
    assert [len(b.records) for b in journal_module.read_batches(segment)] == [1]
    assert [p.name for p in tmp_path.iterdir()] == [owner.owner_dir.name]  # no staging left
    assert list(scanner.orphans()) == []  # its owner is alive
    owner.close()


def test_a_journal_whose_folder_was_deleted_makes_it_again(tmp_path: Path) -> None:
    journal = journal_module.Journal(tmp_path)
    journal.append(Batch([LogMetric("r", "m", 1.0, 0, 1)]))
    shutil.rmtree(journal.owner_dir)  # say, a user clearing their cache folder
    assert journal.segments() == []
    assert not journal.has_pending()  # nothing to wait for: those records are gone
    journal.append(Batch([LogMetric("r", "m", 2.0, 0, 2)]))
    (segment,) = journal.segments()
    assert [b.records for b in journal_module.read_batches(segment)] == [
        [LogMetric("r", "m", 2.0, 0, 2)]
    ]
    segment.unlink()  # as a replay does
    journal.close()
    assert list(tmp_path.iterdir()) == []


def test_a_read_tries_the_journal_once_and_does_not_wait_for_the_store_to_take_it(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read flushes first; were it to retry a refusing store (read-only, or locked for
    long) until the read's timeout, every read would take that long."""
    with tracklm.start_run() as run:
        tracklm.log_metric("before", 1.0)
        assert tracklm.flush().ok
        holder = WriteLockHolder(_db(store_dir))
        try:
            tracklm.log_metric("during", 1.0)
            assert tracklm.flush(timeout=0.3).pending == 1
            attempts: list[int] = []
            write = SQLiteStore.write_batch

            def counted(self: SQLiteStore, batch: Batch) -> None:
                attempts.append(len(batch.records))
                write(self, batch)

            monkeypatch.setattr(SQLiteStore, "write_batch", counted)
            assert tracklm.get_run(run.info.run_id).data.metrics == {"before": 1.0}
            assert len(attempts) <= 1  # the journal's replay, refused: the read goes on
        finally:
            holder.release()
    assert tracklm.flush(timeout=30).ok
