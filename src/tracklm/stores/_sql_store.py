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

Beside its JSON, each row keeps the columns a browser filters and joins on: ``status``,
``model``, ``operation`` (short text only) and ``input_key`` (a digest of ``inputs``), covered
by the index ``table_rows_columns`` (row_key first): filtering and joining a table's rows read
that small index, not the rows. ``table_facets`` counts each table's rows by facet value, kept
up to date by each append.
"""

from __future__ import annotations

import errno
import json
import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from itertools import repeat
from typing import Any, ClassVar, Final, Protocol

from tracklm._errors import ExperimentExists, StoreError
from tracklm._run_manager.records import Batch, CreateRun, LogMetric, Row, column_names
from tracklm.entities import Experiment, Metric, Run, RunData, RunInfo
from tracklm.stores import _row_text
from tracklm.stores._batch_plan import BatchPlan, plan
from tracklm.stores.artifacts import ArtifactRepository, TableUpdate
from tracklm.stores.base import (
    FACET_COLUMNS,
    JOIN_COLUMN,
    ExperimentSummary,
    JoinedRows,
    MetricSample,
    Store,
    StoreUnavailable,
    TableJoin,
    TablePage,
    _checked_filters,
    _fold,
    _most_frequent,
    downsample_points,
    facet_value,
    input_key,
)

# a table file whose path names no file this store can write: the record's fault, not the disk's
_BAD_PATH = frozenset({errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ELOOP})

ROW_BITS = 32  # table_rows.row_key = table_id << 32 | the row's number in its table
ROW_COLUMNS: Final = (*FACET_COLUMNS, "input_key")
"""The columns of ``table_rows`` derived from a row (:func:`row_columns`)."""
_ROW_SOURCES: Final = (*FACET_COLUMNS, JOIN_COLUMN)
"""The row's cells each of :data:`ROW_COLUMNS` is derived from."""
_MIGRATION_CHUNK: Final = 2_000


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
    METRIC_IS_NUMBER: ClassVar[str]
    """A condition on ``metrics`` that holds for values other than NaN."""
    NEW_TABLE: ClassVar[str]
    """Insert a ``tables`` row for (run_id, artifact_file) with a new table_id, if missing."""
    LOCK_ROW: ClassVar[str] = ""
    """Appended to a SELECT to lock the rows it reads until the transaction ends."""
    ROWS_BY_COLUMNS: ClassVar[str] = "table_rows"
    """``table_rows`` read through the index ``table_rows_columns`` (where a hint is needed)."""
    ILIKE: ClassVar[str] = "LIKE"
    """The operator of a LIKE that ignores the case of ASCII letters."""

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
        self, conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _insert_table_rows(
        self,
        conn: Connection,
        first_key: int,
        texts: list[str],
        derived: list[list[str | None] | None],
    ) -> None:
        """Insert rows into ``table_rows`` from ``first_key`` on: their JSON ``texts``, and the
        values of :data:`ROW_COLUMNS` (a column no row has is None)."""
        n = len(texts)
        self._insert_many(
            conn,
            "table_rows",
            ("row_key", '"row"', *ROW_COLUMNS),
            zip(
                range(first_key, first_key + n),
                texts,
                *(column or repeat(None, n) for column in derived),
                strict=True,
            ),
        )

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
        names, texts, derived = _encoded_rows(rows)
        known = set(old_columns)
        columns = old_columns + [c for c in names if c not in known]
        first_key = (table_id << ROW_BITS) + row_count
        self._insert_table_rows(conn, first_key, texts, derived)
        counts = [
            (table_id, facet, value, count)
            for facet, column in zip(FACET_COLUMNS, derived, strict=False)
            if column is not None
            for value, count in Counter(column).items()
            if value is not None
        ]
        if counts:
            conn.executemany(
                "INSERT INTO table_facets VALUES (?, ?, ?, ?) "
                "ON CONFLICT (table_id, facet, value) "
                "DO UPDATE SET row_count = table_facets.row_count + excluded.row_count",
                counts,
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

    # -- browsing tables ---------------------------------------------------------------------

    def _table_id(self, run_id: str, artifact_file: str) -> tuple[int, list[str], int] | None:
        """The table's (table_id, columns, row_count), or None."""
        found = self._read(
            "SELECT table_id, columns, row_count FROM tables "
            "WHERE run_id = ? AND artifact_file = ?",
            (run_id, artifact_file),
        )
        if not found:
            return None
        table_id, columns, row_count = found[0]
        return int(table_id), json.loads(columns), int(row_count)

    def query_table(
        self,
        run_id: str,
        artifact_file: str,
        *,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        filters: Mapping[str, str] | None = None,
        descending: bool = False,
    ) -> TablePage | None:
        equal = _checked_filters(filters)
        found = self._table_id(run_id, artifact_file)
        if found is None:
            return None
        table_id, columns, row_count = found
        offset, limit = max(0, offset), max(0, limit)
        base = table_id << ROW_BITS
        order = "DESC" if descending else "ASC"
        if not equal and not search:
            # rows are numbered 0, 1, ... without gaps: a page is a range of keys
            first = max(0, row_count - offset - limit) if descending else offset
            last = max(0, row_count - offset) if descending else min(row_count, offset + limit)
            rows = self._read(
                'SELECT row_key, "row" FROM table_rows WHERE row_key >= ? AND row_key < ? '
                f"ORDER BY row_key {order}",
                (base + first, base + last),
            )
            return TablePage(_numbered(rows, base), row_count)
        where = ["row_key >= ?", "row_key < ?"]
        args: list[Any] = [base, base + (1 << ROW_BITS)]
        for column, value in sorted(equal.items()):
            where.append(f"{column} = ?")
            args.append(value)
        if search:
            condition, more = self._text_condition(columns, search)
            where.append(condition)
            args.extend(more)
            source = "table_rows"  # every row is read: the index cannot help
        else:
            source = self.ROWS_BY_COLUMNS
        clause = " AND ".join(where)
        (total,) = self._read(f"SELECT COUNT(*) FROM {source} WHERE {clause}", args)[0]
        keys = (
            f"SELECT row_key FROM {source} WHERE {clause} ORDER BY row_key {order} LIMIT ? OFFSET ?"
        )
        rows = self._read(
            f'SELECT row_key, "row" FROM table_rows WHERE row_key IN ({keys}) '
            f"ORDER BY row_key {order}",
            [*args, limit, offset],
        )
        return TablePage(_numbered(rows, base), int(total))

    def _text_condition(self, columns: Sequence[str], search: str) -> tuple[str, list[Any]]:
        """SQL keeping rows whose stored JSON holds ``search`` in a value, not in a key.

        Rows are stored as ASCII JSON, so the text is looked for as JSON spells it; a column
        name that could hold it is taken out of the row's text first.
        """
        needle = json.dumps(search)[1:-1]
        text, args = '"row"', []
        for column in columns:
            key = json.dumps(column) + ": "
            if _fold(needle) in _fold(key):
                text = f"replace({text}, ?, '')"
                args.append(key)
        pattern = "%" + _escape_like(needle) + "%"
        return f"{text} {self.ILIKE} ? ESCAPE '!'", [*args, pattern]

    def table_facets(
        self, run_id: str, artifact_file: str, limit: int = 100
    ) -> dict[str, list[tuple[str, int]]]:
        found = self._table_id(run_id, artifact_file)
        if found is None:
            return {}
        counts: dict[str, dict[str, int]] = {c: {} for c in FACET_COLUMNS}
        for facet, value, count in self._read(
            "SELECT facet, value, row_count FROM table_facets WHERE table_id = ?", (found[0],)
        ):
            counts[facet][value] = int(count)
        return {c: _most_frequent(found, limit) for c, found in counts.items() if found}

    def join_tables(
        self,
        run_ids: Sequence[str],
        artifact_file: str,
        *,
        offset: int = 0,
        limit: int = 20,
        in_all: bool = False,
        rows_per_run: int = 3,
    ) -> TableJoin:
        tables: list[tuple[int, int]] = []  # (run's position, first row_key of its table)
        for i, run_id in enumerate(run_ids):
            found = self._table_id(run_id, artifact_file)
            if found is not None:
                tables.append((i, found[0] << ROW_BITS))
        if not tables or (in_all and len(tables) < len(run_ids)):
            return TableJoin([], 0)
        # each run's keys from the index; `ord` orders groups by their first row, first run first
        parts, args = [], []
        for i, base in tables:
            parts.append(
                f"SELECT input_key, {i} AS run, {i} * {1 << ROW_BITS} + row_key - ? AS ord "
                f"FROM {self.ROWS_BY_COLUMNS} "
                "WHERE row_key >= ? AND row_key < ? AND input_key IS NOT NULL"
            )
            args += [base, base, base + (1 << ROW_BITS)]
        having = f" HAVING COUNT(DISTINCT run) = {len(run_ids)}" if in_all else ""
        page = self._read(
            # one grouping pass gives the page and the number of groups
            "SELECT input_key, MIN(ord) AS first, COUNT(*) OVER () AS total "
            f"FROM ({' UNION ALL '.join(parts)}) AS u GROUP BY input_key{having} "
            "ORDER BY first, input_key LIMIT ? OFFSET ?",
            [*args, max(0, limit), max(0, offset)],
        )
        if not page:
            total = 0
            if offset > 0:  # past the last group: count them
                (total,) = self._read(
                    "SELECT COUNT(*) FROM (SELECT input_key "
                    f"FROM ({' UNION ALL '.join(parts)}) AS u GROUP BY input_key{having}) AS g",
                    args,
                )[0]
            return TableJoin([], int(total))
        keys = [key for key, _, _ in page]
        joined = self._joined_rows(tables, keys, len(run_ids), rows_per_run)
        return TableJoin(joined, int(page[0][2]))

    def _joined_rows(
        self, tables: list[tuple[int, int]], keys: list[str], runs: int, rows_per_run: int
    ) -> list[JoinedRows]:
        """The first rows of each run for each of ``keys``, and how many each run has."""
        marks = ", ".join("?" * len(keys))
        parts, args = [], []
        for i, base in tables:
            parts.append(
                f"SELECT {i} AS run, row_key, input_key, "
                "ROW_NUMBER() OVER (PARTITION BY input_key ORDER BY row_key) AS rn, "
                "COUNT(*) OVER (PARTITION BY input_key) AS n "
                f"FROM {self.ROWS_BY_COLUMNS} "
                f"WHERE row_key >= ? AND row_key < ? AND input_key IN ({marks})"
            )
            args += [base, base + (1 << ROW_BITS), *keys]
        picked = self._read(
            f"SELECT run, row_key, input_key, n FROM ({' UNION ALL '.join(parts)}) AS r "
            "WHERE rn <= ? ORDER BY row_key",
            [*args, rows_per_run],
        )
        texts = (
            dict(
                self._read(
                    f'SELECT row_key, "row" FROM table_rows WHERE row_key IN '
                    f"({', '.join('?' * len(picked))})",
                    [row_key for _, row_key, _, _ in picked],
                )
            )
            if picked
            else {}
        )
        groups: dict[str, tuple[list[list[tuple[int, Row]]], list[int]]] = {
            k: ([[] for _ in range(runs)], [0] * runs) for k in keys
        }
        for run, row_key, key, count in picked:
            rows, counts = groups[key]
            rows[run].append((int(row_key) & ((1 << ROW_BITS) - 1), json.loads(texts[row_key])))
            counts[run] = int(count)
        joined = []
        for key in keys:
            rows, counts = groups[key]
            first = next(r for run_rows in rows for r in run_rows)
            joined.append(JoinedRows(first[1].get(JOIN_COLUMN), rows, counts))
        return joined

    # -- browsing metrics and experiments ----------------------------------------------------

    def sample_metric_history(
        self,
        run_id: str,
        key: str,
        max_points: int = 1000,
        *,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> MetricSample:
        where = ["run_id = ?", "key = ?"]
        args: list[Any] = [run_id, key]
        if min_step is not None:
            where.append("step >= ?")
            args.append(min_step)
        if max_step is not None:
            where.append("step <= ?")
            args.append(max_step)
        (total,) = self._read(f"SELECT COUNT(*) FROM metrics WHERE {' AND '.join(where)}", args)[0]
        where.append(self.METRIC_IS_NUMBER)  # a chart leaves NaN out: no need to decode it
        points = self._read(
            f"SELECT step, timestamp, value FROM metrics "
            f"WHERE {' AND '.join(where)} ORDER BY step, timestamp, {self.METRIC_ORDER}",
            args,
        )
        kept = downsample_points(points, max_points)
        return MetricSample([Metric(key, v, step, ts) for step, ts, v in kept], int(total))

    def experiment_summaries(self) -> list[ExperimentSummary]:
        rows = self._read(
            "SELECT e.experiment_id, e.name, e.creation_time, COUNT(r.run_id), "
            "MAX(COALESCE(r.end_time, r.start_time)) "
            "FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.experiment_id "
            "GROUP BY e.experiment_id, e.name, e.creation_time "
            "ORDER BY e.creation_time, e.name"
        )
        return [
            ExperimentSummary(
                self._to_experiment(r[:3]), int(r[3]), None if r[4] is None else int(r[4])
            )
            for r in rows
        ]

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


def row_columns(row: Row) -> tuple[str | None, ...]:
    """The values of :data:`ROW_COLUMNS` for a row."""
    return (
        facet_value(row.get("status")),
        facet_value(row.get("model")),
        facet_value(row.get("operation")),
        input_key(row.get(JOIN_COLUMN)),
    )


def _encoded_rows(
    rows: Sequence[Row],
) -> tuple[list[str], list[str], list[list[str | None] | None]]:
    """The rows' columns in first-seen order, their JSON texts, and each of
    :data:`ROW_COLUMNS` as a column of values (None for a column no row has); worked out
    column by column (:mod:`._row_text`), as a batch's rows share their keys."""
    found = _row_text.runs(rows)
    if found is None:  # keys other than strings: one row at a time
        cells = [row_columns(row) for row in rows]
        derived: list[list[str | None] | None] = [list(c) for c in zip(*cells, strict=True)]
        return (
            column_names(rows),
            [json.dumps(row) for row in rows],
            derived or [None] * len(ROW_COLUMNS),
        )
    names = list(dict.fromkeys(key for run in found for key in run.keys))
    texts: list[str] = []
    derived = [None] * len(ROW_COLUMNS)
    done = 0  # rows of the runs before this one
    for run in found:
        texts.extend(_row_text.run_objects(run))
        for i, name in enumerate(_ROW_SOURCES):
            values = run.columns.get(name)
            column = derived[i]
            if values is not None:
                if column is None:
                    column = derived[i] = [None] * done
                column.extend(_derived(name, values))
            elif column is not None:
                column.extend(repeat(None, run.size))
        done += run.size
    return names, texts, derived


def _derived(column: str, values: Sequence[Any]) -> Iterable[str | None]:
    """The values of ``column`` in ``table_rows`` for a run's cells of that name."""
    if column == JOIN_COLUMN:
        return map(input_key, values)
    if set(map(type, values)) == {str}:  # few distinct values: each looked at once
        seen = {v: facet_value(v) for v in set(values)}
        return map(seen.__getitem__, values)
    return map(facet_value, values)


def add_row_columns(conn: Connection) -> None:
    """Migration 1 -> 2 (both databases): the columns of :data:`ROW_COLUMNS`, filled for the
    rows stored before, their index, and each table's count of rows by facet value."""
    for column in ROW_COLUMNS:
        conn.execute(f"ALTER TABLE table_rows ADD COLUMN {column} TEXT")
    fill_row_columns(conn)
    conn.execute(
        f"CREATE INDEX table_rows_columns ON table_rows (row_key, {', '.join(ROW_COLUMNS)})"
    )
    conn.execute(
        "CREATE TABLE table_facets ("
        "table_id BIGINT NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL, "
        "row_count BIGINT NOT NULL, PRIMARY KEY (table_id, facet, value))"
    )
    for facet in FACET_COLUMNS:
        conn.execute(
            f"INSERT INTO table_facets SELECT row_key >> {ROW_BITS}, '{facet}', {facet}, COUNT(*) "
            f"FROM table_rows WHERE {facet} IS NOT NULL GROUP BY row_key >> {ROW_BITS}, {facet}"
        )


def fill_row_columns(conn: Connection) -> None:
    """Derive :data:`ROW_COLUMNS` for the rows stored before they existed."""
    last = -1
    while True:
        rows = conn.execute(
            'SELECT row_key, "row" FROM table_rows WHERE row_key > ? ORDER BY row_key LIMIT ?',
            (last, _MIGRATION_CHUNK),
        ).fetchall()
        if not rows:
            return
        updates = []
        for row_key, text in rows:
            values = row_columns(json.loads(text))
            if any(v is not None for v in values):
                updates.append((*values, row_key))
        if updates:
            conn.executemany(
                "UPDATE table_rows SET status = ?, model = ?, operation = ?, input_key = ? "
                "WHERE row_key = ?",
                updates,
            )
        last = rows[-1][0]


def _numbered(rows: Sequence[Any], base: int) -> list[tuple[int, Row]]:
    return [(int(key) - base, json.loads(text)) for key, text in rows]


def _escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern with ``ESCAPE '!'``."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
