"""The embedded store: one SQLite database in WAL mode, and a folder of artifacts.

Layout of a store folder (the default is ``./tracklm-runs/``)::

    tracklm.db                                   experiments, runs, params, metrics, tags,
                                                 table rows (and -wal / -shm beside it)
    artifacts/<experiment_id>/<run_id>/artifacts/ files, and each table's CSV/JSON form

The artifacts may go elsewhere (``TRACKLM_ARTIFACT_ROOT``: another folder or an fsspec URL).
Several threads and processes may use one store: each thread has its own connection, writers
take SQLite's write lock with ``BEGIN IMMEDIATE`` and readers never block in WAL mode. The
flusher waits only briefly for the lock (``WRITE_BUSY_MS``); when it cannot get it the batch
is journaled, so "database is locked" never reaches the user's call. What the two SQL stores
share is in :mod:`tracklm.stores._sql_store`.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sqlite3
import threading
import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import accumulate
from pathlib import Path
from typing import Any

from tracklm._files import private_dirs
from tracklm.stores._migrations import upgrade
from tracklm.stores._sql_store import ROW_COLUMNS, Connection, SQLStore
from tracklm.stores._sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from tracklm.stores._uri import DB_NAME
from tracklm.stores.artifacts import ArtifactRepository, LocalArtifactRepository
from tracklm.stores.base import StoreUnavailable

__all__ = ["DB_NAME", "SQLiteStore"]

# Connections inherited from a parent process; kept referenced so the child never closes them
# (SQLite forbids using a connection across fork, and closing one can disturb the parent).
_inherited: list[Any] = []


class SQLiteStore(SQLStore):
    """The store in one SQLite file plus an artifact repository (a folder beside it)."""

    max_batch_records = 2_000
    """Fewer than a server store's: SQLite writes in this process, and in batches of 2,000 rather
    than 5,000 1 KB table rows the caller's longest wait for room in a full buffer halved, the
    peak memory fell ~18 MB and the rows per second held or rose a few percent (bench_store.py;
    a server store pays round trips per batch and keeps 5,000)."""
    METRIC_VALUE = ("value", "is_nan")  # SQLite stores NaN as NULL: keep a flag
    METRIC_ORDER = "rowid"
    METRIC_IS_NUMBER = "is_nan = 0"
    # without the hint SQLite walks the rows' own B-tree, which holds their whole JSON
    ROWS_BY_COLUMNS = "table_rows INDEXED BY table_rows_columns"
    NEW_TABLE = (
        # the write lock is held: the next table_id cannot be taken by anyone else
        "INSERT INTO tables VALUES (?, ?, (SELECT COALESCE(MAX(table_id), 0) + 1 FROM tables), "
        "'[]', 0, 0)"
    )

    def __init__(self, db_path: Path, artifacts: ArtifactRepository | Path | None = None) -> None:
        self.db_path = db_path.absolute()
        if not isinstance(artifacts, ArtifactRepository):
            artifacts = LocalArtifactRepository(artifacts or self.db_path.parent / "artifacts")
        self.artifacts = artifacts
        self.uri = f"sqlite:///{self.db_path}"
        self.location = str(self.db_path)
        self._local = threading.local()
        self._pid = os.getpid()
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    # -- connections -------------------------------------------------------------------------

    def _conn(self, busy_ms: int | None = None) -> sqlite3.Connection:
        """This thread's connection; opening it waits at most ``busy_ms`` for a lock."""
        if self._pid != os.getpid():
            self.after_fork()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open(self.READ_BUSY_MS if busy_ms is None else busy_ms)
            self._local.conn = conn
        return conn

    def _open(self, busy_ms: int) -> sqlite3.Connection:
        folder = self.db_path.parent
        private_dirs(folder)
        if not self.db_path.exists():
            # created by us, owner-only; SQLite gives the -wal and -shm files the same mode
            os.close(os.open(self.db_path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(
            self.db_path,
            timeout=self.READ_BUSY_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            if not self._schema_ready:
                with self._schema_lock:
                    if not self._schema_ready:
                        conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
                        _migrate(conn, self.location, busy_ms)
                        conn.execute(f"PRAGMA busy_timeout={self.READ_BUSY_MS}")
                        self._schema_ready = True
        except BaseException:
            conn.close()
            raise
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
        try:
            # opening can fail too (a folder or file that cannot be made, a locked or
            # read-only database to migrate): the store is unavailable, never the records
            conn = self._conn(busy_ms)
            conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            conn.execute("BEGIN IMMEDIATE")
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot write to {self.db_path}: {exc}") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:  # a broken connection: the next write opens another
                    self._local.conn = None
                    conn.close()
            if self._unavailable(exc):
                raise StoreUnavailable(f"{self.db_path}: {exc}") from exc
            raise
        finally:
            if getattr(self._local, "conn", None) is conn:
                conn.execute(f"PRAGMA busy_timeout={self.READ_BUSY_MS}")

    # -- many rows ---------------------------------------------------------------------------

    MAX_VARIABLES = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999
    """The most parameters SQLite takes in one statement (its default limit)."""

    def _insert_many(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        # Many rows per statement. ``executemany`` releases the GIL around every row, and
        # beside an app thread that keeps the GIL busy, this thread then waits a switch
        # interval (5 ms) to get it back: per row, thousands of times per batch.
        # Statements of a power of two rows, up to 512: few different ones for SQLite's
        # statement cache to hold, each prepared once.
        rows = rows if isinstance(rows, list) else list(rows)
        most = min(512, 1 << ((self.MAX_VARIABLES // len(columns)).bit_length() - 1))
        start, n = 0, len(rows)
        while start < n:
            size = min(most, 1 << ((n - start).bit_length() - 1))
            sql = _values_insert(table, tuple(columns), size)
            conn.execute(sql, [value for row in rows[start : start + size] for value in row])
            start += size

    # -- table rows --------------------------------------------------------------------------

    ROWS_STATEMENT_BYTES = 1 << 20
    """The most row text one INSERT takes (a row longer than that goes alone)."""
    ROWS_PER_STATEMENT = 1_000
    """The most rows one INSERT takes: what the flusher prepares for it while holding the GIL
    stays short (about a millisecond), so the app's threads are not kept waiting for it."""

    def _insert_table_rows(
        self,
        conn: Connection,
        first_key: int,
        texts: list[str],
        derived: list[list[str | None] | None],
    ) -> None:
        # One statement for many rows: their texts as one blob cut by offsets, the columns
        # that vary from row to row in a JSON array. SQLite then works through the rows
        # without the GIL, while ``executemany`` takes it back after every row, and the
        # app's threads wait for it (or it for them) that often.
        n = len(texts)
        if not n or not _has_json(conn):
            super()._insert_table_rows(conn, first_key, texts, derived)
            return
        # a column with one value in every row is one parameter; the others go in the array
        one = tuple(column is None or column.count(column[0]) == n for column in derived)
        fixed = [column[0] if column else None for column, o in zip(derived, one, strict=True) if o]
        varying = [
            column for column, o in zip(derived, one, strict=True) if not o and column is not None
        ]
        sql = _rows_insert(one)
        lengths = list(map(len, texts))  # ASCII JSON: as many bytes as characters
        ends = list(accumulate(lengths))
        start = 0
        while start < n:
            base = ends[start - 1] if start else 0
            stop = min(
                start + self.ROWS_PER_STATEMENT,
                max(start + 1, bisect_right(ends, base + self.ROWS_STATEMENT_BYTES)),
            )
            offsets = accumulate(lengths[start:stop], initial=1)
            meta = zip(
                offsets, lengths[start:stop], *(c[start:stop] for c in varying), strict=False
            )
            conn.execute(
                sql,
                (
                    first_key + start,
                    "".join(texts[start:stop]).encode("ascii"),
                    *fixed,
                    json.dumps(list(meta), ensure_ascii=False),
                ),
            )
            start = stop

    # -- what the shared code asks -----------------------------------------------------------

    def _driver_unavailable(self, exc: Exception) -> bool:
        # integrity, programming and data errors are the records' fault: retrying cannot help
        return isinstance(exc, sqlite3.DatabaseError) and not isinstance(
            exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.DataError)
        )

    def _driver_error(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.DatabaseError)

    def _is_conflict(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.IntegrityError)

    @staticmethod
    def _encode_value(value: float) -> tuple[Any, ...]:
        return (None, 1) if math.isnan(value) else (value, 0)

    @staticmethod
    def _decode_value(cells: Sequence[Any]) -> float:
        return math.nan if cells[1] else float(cells[0])

    def describe(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "database": str(self.db_path),
            "artifacts": self.artifacts.describe(),
        }


@functools.cache
def _rows_insert(fixed: tuple[bool, ...]) -> str:
    """The INSERT of :meth:`SQLiteStore._insert_table_rows`; ``fixed`` says which of
    ``ROW_COLUMNS`` is one parameter for all rows, the others being read from the JSON array
    (each element ``[offset, length, the varying values...]``)."""
    cells, at = [], 2
    for one in fixed:
        if one:
            cells.append("?")
        else:
            cells.append(f"json_extract(value, '$[{at}]')")
            at += 1
    return (
        f'INSERT INTO table_rows (row_key, "row", {", ".join(ROW_COLUMNS)}) '
        "SELECT ? + key, CAST(substr(?, json_extract(value, '$[0]'), "
        f"json_extract(value, '$[1]')) AS TEXT), {', '.join(cells)} FROM json_each(?)"
    )


@functools.lru_cache(maxsize=32)
def _values_insert(table: str, columns: tuple[str, ...], rows: int) -> str:
    """``INSERT INTO table (columns) VALUES (?, ...), ...`` for ``rows`` rows."""
    one = f"({', '.join('?' * len(columns))})"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * rows)}"


def _has_json(conn: Connection) -> bool:
    """Whether this SQLite has its JSON functions (built in since 3.38, an option before)."""
    global _json_functions
    if _json_functions is None:
        try:
            conn.execute("SELECT json_extract(value, '$[0]') FROM json_each('[[1]]')").fetchall()
            _json_functions = True
        except sqlite3.OperationalError:
            _json_functions = False
    return _json_functions


_json_functions: bool | None = None


def _migrate(conn: sqlite3.Connection, where: str, busy_ms: int) -> None:
    """Bring the database to ``SCHEMA_VERSION``, whoever else opens it at the same time.

    Waits at most about ``busy_ms`` for another process's lock (the flusher waits briefly and
    journals); any other error (a read-only database) is raised at once.
    """
    if _schema_version(conn) == SCHEMA_VERSION:
        return  # the common case: no write lock needed
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if time.monotonic() > deadline or "locked" not in str(exc):
                raise
            time.sleep(0.05)
    try:
        upgrade(conn, MIGRATIONS, where)
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
