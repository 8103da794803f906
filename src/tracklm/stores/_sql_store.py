"""What the SQL stores share: a batch applied, the reads, and the tables' bookkeeping.

The SQL is written once, in what SQLite and PostgreSQL both speak, with ``?`` placeholders (the
PostgreSQL store's connections translate them). A concrete store says how it connects, how a
write transaction begins and fails (:meth:`SQLStore._write`), which errors mean "not now"
rather than "bad data" (:meth:`SQLStore._unavailable`), how it inserts many rows, and how a
metric value is kept (SQLite turns NaN into NULL, so it keeps a flag beside the value).

A table's rows are kept in ``table_rows`` under ``row_key = table_id * 2**32 + row number``,
one range per table. Appending locks the table's row in ``tables`` first (``FOR UPDATE``
where the database has row locks; SQLite's write lock covers the whole database), so that
writers in other processes and on other machines number their rows one after the other and
none is lost.
"""

from __future__ import annotations

import errno
import json
import time
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from typing import Any, ClassVar, Protocol

from tracklm._errors import ExperimentExists, StoreError
from tracklm._run_manager.records import Batch, CreateRun, LogMetric, Row, column_names
from tracklm.entities import Experiment, Metric, Run, RunData, RunInfo
from tracklm.stores._batch_plan import BatchPlan, plan
from tracklm.stores.artifacts import ArtifactRepository, TableUpdate
from tracklm.stores.base import Store, StoreUnavailable

# a table file whose path names no file this store can write: the record's fault, not the disk's
_BAD_PATH = frozenset({errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ELOOP})

ROW_BITS = 32  # table_rows.row_key = table_id << 32 | the row's number in its table


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the shared code uses (``?`` placeholders)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


class SQLStore(Store):
    """The Store interface over SQL, for a concrete store to connect."""

    artifacts: ArtifactRepository
    location: str
    """Where the database is, for messages (never holding a password)."""

    WRITE_BUSY_MS: ClassVar[int] = 250
    """How long the flusher's write waits for a lock before the batch goes to the journal."""
    READ_BUSY_MS: ClassVar[int] = 30_000
    """How long other writes (``create_experiment``) wait for a lock."""
    METRIC_VALUE: ClassVar[tuple[str, ...]] = ("value",)
    """The columns holding a metric's value (see :meth:`_encode_value`)."""
    METRIC_ORDER: ClassVar[str]
    """The column that orders metric values logged at the same step and time."""
    NEW_TABLE: ClassVar[str]
    """Insert a ``tables`` row for (run_id, artifact_file) with a new table_id, if missing."""
    LOCK_ROW: ClassVar[str] = ""
    """Appended to a SELECT to lock the rows it reads until the transaction ends."""

    # -- what a concrete store provides ------------------------------------------------------

    @abstractmethod
    def _conn(self) -> Connection:
        """This thread's connection (opened, and the schema brought up to date, on first use)."""

    @abstractmethod
    def _write(self, busy_ms: int) -> AbstractContextManager[Connection]:
        """A write transaction, committed at the end of the block or rolled back.

        Waits at most ``busy_ms`` for a lock; raises StoreUnavailable when the store cannot
        take the write now (see :meth:`_unavailable`), and any other error as it is.
        """

    @abstractmethod
    def _driver_unavailable(self, exc: Exception) -> bool:
        """Whether a driver error means the store may take the write later."""

    @abstractmethod
    def _driver_error(self, exc: Exception) -> bool:
        """Whether ``exc`` comes from the database driver."""

    @abstractmethod
    def _is_conflict(self, exc: Exception) -> bool:
        """Whether ``exc`` is a uniqueness violation."""

    def _message(self, exc: BaseException) -> str:
        """``exc`` as text safe to show (a store with secrets in its URI masks them)."""
        return str(exc)

    def _insert_many(
        self, conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    @staticmethod
    def _encode_value(value: float) -> tuple[Any, ...]:
        return (value,)

    @staticmethod
    def _decode_value(cells: Sequence[Any]) -> float:
        return float(cells[0])

    def _unavailable(self, exc: BaseException) -> bool:
        """Whether a write failed for a reason that may pass (lock, full disk, server down)."""
        if isinstance(exc, OSError):  # a table file on a full, read-only or unmounted disk
            return exc.errno not in _BAD_PATH  # (not a path that can never be a file)
        return isinstance(exc, Exception) and self._driver_unavailable(exc)

    # -- writes ------------------------------------------------------------------------------

    def write_batch(self, batch: Batch) -> None:
        work = plan(batch.records)
        with self._write(self.WRITE_BUSY_MS) as conn:
            seen = conn.execute(
                "SELECT 1 FROM applied_batches WHERE batch_id = ?", (batch.batch_id,)
            ).fetchone()
            if seen:
                return
            self._apply(conn, work)
            conn.execute("INSERT INTO applied_batches VALUES (?, ?)", (batch.batch_id, _now_ms()))
        if work.tables:
            self.sync_files()

    def _apply(self, conn: Connection, work: BatchPlan) -> None:
        if work.experiments:
            conn.executemany(
                "INSERT INTO experiments VALUES (?, ?, ?) ON CONFLICT DO NOTHING", work.experiments
            )
        for run in work.runs:
            self._create_run(conn, run)
        if work.params:
            conn.executemany(
                "INSERT INTO params VALUES (?, ?, ?) ON CONFLICT DO NOTHING", work.params
            )
        if work.tags:
            conn.executemany(
                "INSERT INTO tags VALUES (?, ?, ?) ON CONFLICT (run_id, key) "
                "DO UPDATE SET value = excluded.value",
                work.tags,
            )
        if work.metrics:
            encode = self._encode_value
            self._insert_many(
                conn,
                "metrics",
                self._metric_columns,
                [(m.run_id, m.key, *encode(m.value), m.step, m.timestamp) for m in work.metrics],
            )
            conn.executemany(self._latest_upsert, [self._metric_row(m) for m in work.latest])
        for run_id, artifact_file, rows in work.tables:
            self._append_rows(conn, run_id, artifact_file, rows)
        if work.statuses:
            conn.executemany(
                "UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?",
                [(s.status, s.end_time, s.run_id) for s in work.statuses],
            )

    def _create_run(self, conn: Connection, record: CreateRun) -> None:
        conn.execute(
            "INSERT INTO experiments VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (record.experiment_id, record.experiment_name, record.start_time),
        )
        (experiment_id,) = conn.execute(
            "SELECT experiment_id FROM experiments WHERE name = ?", (record.experiment_name,)
        ).fetchone()
        conn.execute(
            "INSERT INTO runs VALUES (?, ?, ?, 'RUNNING', ?, NULL, ?) ON CONFLICT DO NOTHING",
            (
                record.run_id,
                experiment_id,
                record.run_name,
                record.start_time,
                record.parent_run_id,
            ),
        )

    @cached_property
    def _metric_columns(self) -> tuple[str, ...]:
        return ("run_id", "key", *self.METRIC_VALUE, "step", "timestamp")

    @cached_property
    def _latest_upsert(self) -> str:
        columns = self._metric_columns
        updated = ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
        return (
            f"INSERT INTO latest_metrics ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT (run_id, key) DO UPDATE SET {updated} "
            "WHERE (excluded.step, excluded.timestamp) "
            ">= (latest_metrics.step, latest_metrics.timestamp)"
        )

    def _metric_row(self, m: LogMetric) -> tuple[Any, ...]:
        return (m.run_id, m.key, *self._encode_value(m.value), m.step, m.timestamp)

    # -- tables ------------------------------------------------------------------------------

    def _append_rows(
        self, conn: Connection, run_id: str, artifact_file: str, rows: list[Row]
    ) -> None:
        table_id, columns_json, row_count, file_size = self._lock_table(conn, run_id, artifact_file)
        old_columns: list[str] = json.loads(columns_json)
        known = set(old_columns)
        columns = old_columns + [c for c in column_names(rows) if c not in known]
        first_key = (table_id << ROW_BITS) + row_count
        encode = json.dumps  # ASCII JSON: text a database cannot encode (lone surrogates) survives
        self._insert_many(
            conn,
            "table_rows",
            ("row_key", '"row"'),
            [(first_key + i, encode(row)) for i, row in enumerate(rows)],
        )
        run = conn.execute("SELECT experiment_id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if run is not None:
            file_size = self.artifacts.write_table(
                run[0],
                run_id,
                TableUpdate(
                    artifact_file,
                    columns=columns,
                    columns_changed=len(columns) != len(old_columns),
                    rows=rows,
                    rows_before=row_count,
                    size_before=file_size,
                    all_rows=lambda: self._table_rows(conn, table_id),
                ),
            )
        conn.execute(
            "UPDATE tables SET columns = ?, row_count = ?, file_size = ? "
            "WHERE run_id = ? AND artifact_file = ?",
            (json.dumps(columns), row_count + len(rows), file_size, run_id, artifact_file),
        )

    def _lock_table(self, conn: Connection, run_id: str, artifact_file: str) -> tuple[Any, ...]:
        """The table's (table_id, columns, row_count, file_size), created if new, locked."""
        select = (
            "SELECT table_id, columns, row_count, file_size FROM tables "
            "WHERE run_id = ? AND artifact_file = ?" + self.LOCK_ROW
        )
        found = conn.execute(select, (run_id, artifact_file)).fetchone()
        if found is None:
            conn.execute(self.NEW_TABLE, (run_id, artifact_file))
            found = conn.execute(select, (run_id, artifact_file)).fetchone()
        return tuple(found)

    @staticmethod
    def _table_rows(conn: Connection, table_id: int) -> list[Row]:
        rows = conn.execute(
            'SELECT "row" FROM table_rows WHERE row_key >= ? AND row_key < ? ORDER BY row_key',
            (table_id << ROW_BITS, (table_id + 1) << ROW_BITS),
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def list_tables(self, run_id: str) -> list[str]:
        rows = self._read(
            "SELECT artifact_file FROM tables WHERE run_id = ? ORDER BY artifact_file", (run_id,)
        )
        return [r[0] for r in rows]

    def read_table(self, run_id: str, artifact_file: str) -> list[Row] | None:
        found = self._table_file(run_id, artifact_file)
        return found[1] if found is not None else None

    def _table_file(self, run_id: str, artifact_file: str) -> tuple[list[str], list[Row]] | None:
        """A table's (columns, rows), or None: what its file is written from."""
        found = self._read(
            "SELECT table_id, columns FROM tables WHERE run_id = ? AND artifact_file = ?",
            (run_id, artifact_file),
        )
        if not found:
            return None
        table_id, columns = found[0]
        with self._reading() as conn:
            return json.loads(columns), self._table_rows(conn, table_id)

    def sync_files(self, force: bool = False) -> None:
        self.artifacts.sync_tables(self._table_file, force=force)

    # -- experiments -------------------------------------------------------------------------

    def create_experiment(self, name: str, experiment_id: str) -> Experiment:
        try:
            with self._write(self.READ_BUSY_MS) as conn:
                conn.execute(
                    "INSERT INTO experiments VALUES (?, ?, ?)", (experiment_id, name, _now_ms())
                )
        except StoreUnavailable as exc:
            raise StoreError(f"Cannot create experiment {name!r}: {exc}") from exc
        except Exception as exc:
            if not self._is_conflict(exc):
                raise
            raise ExperimentExists(
                f"An experiment named {name!r} exists already; use "
                f"tracklm.set_experiment({name!r}) to log into it."
            ) from None
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

    def _to_experiment(self, row: Sequence[Any]) -> Experiment:
        location = self.artifacts.experiment_uri(row[0])
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
        decode = self._decode_value
        values = ", ".join(self.METRIC_VALUE)
        for run_id, key, *cells in self._read(
            f"SELECT run_id, key, {values} FROM latest_metrics WHERE run_id IN ({selected})",
            args,
        ):
            data[run_id][1][key] = decode(cells)
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
            f"SELECT step, timestamp, {', '.join(self.METRIC_VALUE)} FROM metrics "
            f"WHERE run_id = ? AND key = ? ORDER BY step, timestamp, {self.METRIC_ORDER}",
            (run_id, key),
        )
        decode = self._decode_value
        return [Metric(key, decode(cells), step, ts) for step, ts, *cells in rows]

    # -- helpers -----------------------------------------------------------------------------

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._reading() as conn:
            return conn.execute(sql, args).fetchall()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """This thread's connection, its errors raised as StoreError (misuse aside)."""
        try:
            yield self._conn()
        except StoreUnavailable as exc:  # could not connect
            raise StoreError(f"Cannot read the store {self.location}: {exc}") from None
        except Exception as exc:
            if not self._driver_error(exc):
                raise
            raise StoreError(
                f"Cannot read the store {self.location}: {self._message(exc)}"
            ) from None


def _now_ms() -> int:
    return int(time.time() * 1000)
