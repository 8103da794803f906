"""SQLite takes a batch's metrics in a few statements, not one per row: ``executemany``
releases the GIL around every row, and beside an app thread that keeps the GIL busy, the
flusher waits a switch interval (5 ms) to get it back each time."""

from __future__ import annotations

from pathlib import Path

from tracklm._run_manager.records import Batch, CreateExperiment, CreateRun, LogMetric
from tracklm.stores import open_store
from tracklm.stores.sqlite import SQLiteStore


def test_a_batch_of_metrics_is_a_few_statements(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    assert isinstance(store, SQLiteStore)
    try:
        store.write_batch(
            Batch([CreateExperiment("e", "e", 1), CreateRun("r", "e", "e", "r", 1, {}, None)])
        )
        executed: list[str] = []
        store._conn(store.WRITE_BUSY_MS).set_trace_callback(executed.append)
        metrics = [LogMetric("r", f"m{i % 5}", float(i), i, i) for i in range(3_000)]
        store.write_batch(Batch(list(metrics)))
        inserts = [sql for sql in executed if sql.startswith("INSERT INTO metrics")]
        assert len(inserts) <= 12  # 3,000 rows: 5 x 512 + 256 + 128 + 32 + 16 + 8
        assert len(store.get_metric_history("r", "m0")) == 600
    finally:
        store.close()
