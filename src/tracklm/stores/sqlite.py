"""The embedded store: one SQLite database in WAL mode, and a folder of artifacts.

Layout of a store folder (the default is ``./tracklm-runs/``)::

    tracklm.db                                   experiments, runs, params, metrics, tags,
                                                 table rows (and -wal / -shm beside it)
    artifacts/<experiment_id>/<run_id>/artifacts/ files, and each table's CSV/JSON form

Several threads and processes may use one store: each thread has its own connection, writers
take SQLite's write lock with ``BEGIN IMMEDIATE`` and readers never block in WAL mode. The
flusher waits only briefly for the lock (``WRITE_BUSY_MS``); when it cannot get it the batch
is journaled, so "database is locked" never reaches the user's call.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from tracklm._errors import ExperimentExists, StoreError
from tracklm._run_manager.records import (
    AppendRows,
    Batch,
    CreateExperiment,
    CreateRun,
    LogMetric,
    LogParam,
    Row,
    SetRunStatus,
    SetTag,
    column_names,
)
from tracklm.entities import Experiment, Metric, Run, RunData, RunInfo
from tracklm.stores import _table_files
from tracklm.stores._sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from tracklm.stores.base import Store, StoreUnavailable

logger = logging.getLogger("tracklm.stores.sqlite")

DB_NAME: Final = "tracklm.db"
_ROW_BITS: Final = 32  # table_rows.row_key = table_id << 32 | the row's number in its table

# Connections inherited from a parent process; kept referenced so the child never closes them
# (SQLite forbids using a connection across fork, and closing one can disturb the parent).
_inherited: list[Any] = []


class SQLiteStore(Store):
    """The store in one SQLite file plus an artifact folder."""

    WRITE_BUSY_MS = 250
    READ_BUSY_MS = 30_000

    def __init__(self, db_path: Path, artifact_root: Path | None = None) -> None:
        self.db_path = db_path.absolute()
        self.artifact_root = (artifact_root or self.db_path.parent / "artifacts").absolute()
        self.uri = f"sqlite:///{self.db_path}"
        self._local = threading.local()
        self._pid = os.getpid()
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            self.after_fork()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        folder = self.db_path.parent
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.db_path.exists():
            # created by us, owner-only; SQLite gives the -wal and -shm files the same mode
            os.close(os.open(self.db_path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(
            self.db_path,
            timeout=self.READ_BUSY_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute("PRAGMA synchronous=NORMAL")
        if not self._schema_ready:
            with self._schema_lock:
                if not self._schema_ready:
                    _migrate(conn)
                    self._schema_ready = True
        return conn

    def after_fork(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            _inherited.append(conn)
        self._local = threading.local()
        self._pid = os.getpid()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._pid == os.getpid():
            conn.close()
            self._local.conn = None

    @contextmanager
    def _write(self, busy_ms: int) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"cannot take the write lock of {self.db_path}") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.execute(f"PRAGMA busy_timeout={self.READ_BUSY_MS}")

    # -- writes ------------------------------------------------------------------------------

    def write_batch(self, batch: Batch) -> None:
        try:
            with self._write(self.WRITE_BUSY_MS) as conn:
                seen = conn.execute(
                    "SELECT 1 FROM applied_batches WHERE batch_id = ?", (batch.batch_id,)
                ).fetchone()
                if seen:
                    return
                self._apply(conn, batch)
                conn.execute(
                    "INSERT INTO applied_batches VALUES (?, ?)", (batch.batch_id, _now_ms())
                )
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.DataError):
            raise  # the records' fault, not the store's: retrying cannot help
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreUnavailable(f"{self.db_path}: {exc}") from exc

    def _apply(self, conn: sqlite3.Connection, batch: Batch) -> None:
        metrics: list[LogMetric] = []
        tables: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for record in batch.records:
            if isinstance(record, LogMetric):
                metrics.append(record)
            elif isinstance(record, AppendRows):
                tables[(record.run_id, record.artifact_file)].extend(record.rows)
            elif isinstance(record, LogParam):
                conn.execute("INSERT OR IGNORE INTO params VALUES (?, ?, ?)", record)
            elif isinstance(record, SetTag):
                conn.execute(
                    "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT (run_id, key) "
                    "DO UPDATE SET value = excluded.value",
                    record,
                )
            elif isinstance(record, CreateRun):
                self._create_run(conn, record)
            elif isinstance(record, CreateExperiment):
                conn.execute("INSERT OR IGNORE INTO experiments VALUES (?, ?, ?)", record)
            elif isinstance(record, SetRunStatus):
                conn.execute(
                    "UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?",
                    (record.status, record.end_time, record.run_id),
                )
        if metrics:
            rows = [
                (
                    m.run_id,
                    m.key,
                    None if math.isnan(m.value) else m.value,
                    int(math.isnan(m.value)),
                    m.step,
                    m.timestamp,
                )
                for m in metrics
            ]
            conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", rows)
            conn.executemany(
                "INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, "
                "is_nan = excluded.is_nan, step = excluded.step, timestamp = excluded.timestamp "
                "WHERE (excluded.step, excluded.timestamp) >= (step, timestamp)",
                rows,
            )
        for (run_id, artifact_file), rows_ in tables.items():
            self._append_rows(conn, run_id, artifact_file, rows_)

    def _create_run(self, conn: sqlite3.Connection, record: CreateRun) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO experiments VALUES (?, ?, ?)",
            (record.experiment_id, record.experiment_name, record.start_time),
        )
        (experiment_id,) = conn.execute(
            "SELECT experiment_id FROM experiments WHERE name = ?", (record.experiment_name,)
        ).fetchone()
        conn.execute(
            "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, 'RUNNING', ?, NULL, ?)",
            (
                record.run_id,
                experiment_id,
                record.run_name,
                record.start_time,
                record.parent_run_id,
            ),
        )
        conn.executemany(
            "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT (run_id, key) "
            "DO UPDATE SET value = excluded.value",
            [(record.run_id, k, v) for k, v in record.tags.items()],
        )

    def _append_rows(
        self, conn: sqlite3.Connection, run_id: str, artifact_file: str, rows: list[Row]
    ) -> None:
        found = conn.execute(
            "SELECT table_id, columns, row_count, file_size FROM tables "
            "WHERE run_id = ? AND artifact_file = ?",
            (run_id, artifact_file),
        ).fetchone()
        if found is None:
            (table_id,) = conn.execute(
                "SELECT COALESCE(MAX(table_id), 0) + 1 FROM tables"
            ).fetchone()
            old_columns: list[str] = []
            row_count = file_size = 0
        else:
            table_id, old_columns, row_count, file_size = (
                found[0],
                json.loads(found[1]),
                found[2],
                found[3],
            )
        columns = old_columns + [c for c in column_names(rows) if c not in set(old_columns)]
        first_key = (table_id << _ROW_BITS) + row_count
        encode = json.dumps  # ASCII JSON: text SQLite cannot encode (lone surrogates) survives
        conn.executemany(
            "INSERT INTO table_rows VALUES (?, ?)",
            [(first_key + i, encode(row)) for i, row in enumerate(rows)],
        )
        run = conn.execute("SELECT experiment_id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if run is not None:
            path = self.artifact_dir(run[0], run_id) / artifact_file
            file_size = _table_files.write_rows(
                path,
                artifact_file,
                columns=columns,
                columns_changed=len(columns) != len(old_columns),
                rows=rows,
                rows_before=row_count,
                size_before=file_size,
                all_rows=lambda: self._table_rows(conn, table_id),
            )
        conn.execute(
            "INSERT OR REPLACE INTO tables VALUES (?, ?, ?, ?, ?, ?)",
            (
                run_id,
                artifact_file,
                table_id,
                json.dumps(columns),
                row_count + len(rows),
                file_size,
            ),
        )

    # -- experiments -------------------------------------------------------------------------

    def create_experiment(self, name: str, experiment_id: str) -> Experiment:
        try:
            with self._write(self.READ_BUSY_MS) as conn:
                conn.execute(
                    "INSERT INTO experiments VALUES (?, ?, ?)", (experiment_id, name, _now_ms())
                )
        except sqlite3.IntegrityError:
            raise ExperimentExists(
                f"An experiment named {name!r} exists already; use "
                f"tracklm.set_experiment({name!r}) to log into it."
            ) from None
        except StoreUnavailable as exc:
            raise StoreError(f"Cannot create experiment {name!r}: {exc}") from exc
        experiment = self.get_experiment(experiment_id)
        assert experiment is not None
        return experiment

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        return self._experiment("experiment_id = ?", experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._experiment("name = ?", name)

    def _experiment(self, where: str, value: str) -> Experiment | None:
        row = self._read(f"SELECT * FROM experiments WHERE {where}", (value,))
        return self._to_experiment(row[0]) if row else None

    def list_experiments(self) -> list[Experiment]:
        rows = self._read("SELECT * FROM experiments ORDER BY creation_time, name")
        return [self._to_experiment(r) for r in rows]

    def _to_experiment(self, row: tuple[Any, ...]) -> Experiment:
        location = (self.artifact_root / row[0]).as_uri()
        return Experiment(row[0], row[1], creation_time=row[2], artifact_location=location)

    # -- runs --------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run | None:
        runs = self._runs("run_id = ?", (run_id,))
        return runs[0] if runs else None

    def list_runs(self, experiment_ids: Sequence[str]) -> list[Run]:
        if not experiment_ids:
            return []
        marks = ",".join("?" * len(experiment_ids))
        return self._runs(f"experiment_id IN ({marks})", tuple(experiment_ids))

    def _runs(self, where: str, args: tuple[Any, ...]) -> list[Run]:
        selected = f"SELECT run_id FROM runs WHERE {where}"
        data: dict[str, tuple[dict[str, str], dict[str, float], dict[str, str]]] = {}
        infos = self._read(f"SELECT * FROM runs WHERE {where} ORDER BY start_time DESC", args)
        for row in infos:
            data[row[0]] = ({}, {}, {})
        for run_id, key, value in self._read(
            f"SELECT run_id, key, value FROM params WHERE run_id IN ({selected})", args
        ):
            data[run_id][0][key] = value
        for run_id, key, value, is_nan in self._read(
            f"SELECT run_id, key, value, is_nan FROM latest_metrics WHERE run_id IN ({selected})",
            args,
        ):
            data[run_id][1][key] = math.nan if is_nan else value
        for run_id, key, value in self._read(
            f"SELECT run_id, key, value FROM tags WHERE run_id IN ({selected})", args
        ):
            data[run_id][2][key] = value
        return [
            Run(
                RunInfo(
                    run_id=r[0],
                    experiment_id=r[1],
                    run_name=r[2],
                    status=r[3],
                    start_time=r[4],
                    end_time=r[5],
                    parent_run_id=r[6],
                    artifact_uri=self.artifact_uri(r[1], r[0]),
                ),
                RunData(*data[r[0]]),
            )
            for r in infos
        ]

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        rows = self._read(
            "SELECT value, is_nan, step, timestamp FROM metrics WHERE run_id = ? AND key = ? "
            "ORDER BY step, timestamp, rowid",
            (run_id, key),
        )
        return [Metric(key, math.nan if n else v, s, t) for v, n, s, t in rows]

    # -- tables ------------------------------------------------------------------------------

    def list_tables(self, run_id: str) -> list[str]:
        rows = self._read(
            "SELECT artifact_file FROM tables WHERE run_id = ? ORDER BY artifact_file", (run_id,)
        )
        return [r[0] for r in rows]

    def read_table(self, run_id: str, artifact_file: str) -> list[Row] | None:
        found = self._read(
            "SELECT table_id FROM tables WHERE run_id = ? AND artifact_file = ?",
            (run_id, artifact_file),
        )
        return self._table_rows(self._conn(), found[0][0]) if found else None

    @staticmethod
    def _table_rows(conn: sqlite3.Connection, table_id: int) -> list[Row]:
        rows = conn.execute(
            "SELECT row FROM table_rows WHERE row_key >= ? AND row_key < ? ORDER BY row_key",
            (table_id << _ROW_BITS, (table_id + 1) << _ROW_BITS),
        )
        return [json.loads(r[0]) for r in rows]

    # -- artifacts ---------------------------------------------------------------------------

    def artifact_dir(self, experiment_id: str, run_id: str) -> Path:
        return self.artifact_root / experiment_id / run_id / "artifacts"

    def describe(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "database": str(self.db_path),
            "artifacts": str(self.artifact_root),
        }

    # -- helpers -----------------------------------------------------------------------------

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn().execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Cannot read the store {self.db_path}: {exc}") from exc


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to ``SCHEMA_VERSION``, whoever else opens it at the same time."""
    if _schema_version(conn) == SCHEMA_VERSION:
        return  # the common case: no write lock needed
    deadline = time.monotonic() + 30
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS tracklm_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM tracklm_schema").fetchone()
        version = row[0] if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"This store was written by a newer tracklm (schema {version}; this tracklm "
                f"knows up to {SCHEMA_VERSION}). Upgrade tracklm to use it."
            )
        for script in MIGRATIONS[version:]:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
        if row is None:
            conn.execute("INSERT INTO tracklm_schema VALUES (?)", (SCHEMA_VERSION,))
        else:
            conn.execute("UPDATE tracklm_schema SET version = ?", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _schema_version(conn: sqlite3.Connection) -> int | None:
    try:
        row = conn.execute("SELECT version FROM tracklm_schema").fetchone()
    except sqlite3.OperationalError:  # no such table: a new store
        return None
    return int(row[0]) if row else None


def _now_ms() -> int:
    return int(time.time() * 1000)
