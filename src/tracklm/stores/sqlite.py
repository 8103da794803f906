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

import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracklm._files import private_dirs
from tracklm.stores._migrations import upgrade
from tracklm.stores._sql_store import SQLStore
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
