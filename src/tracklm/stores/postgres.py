"""The PostgreSQL store: many processes on many machines writing one database.

``postgresql://user:password@host:5432/database`` (also ``postgres://`` and
``postgresql+psycopg://``; any libpq parameter in the query, and ``?schema=name`` to keep
tracklm's tables in that schema, created if missing). Needs psycopg 3:
``pip install 'tracklm[postgres]'``. Artifacts go to the artifact root
(``TRACKLM_ARTIFACT_ROOT``), which every machine should reach: a shared path or a URL.

Each thread has its own connection (autocommit, with explicit transactions for writes); a
forked child opens its own and never touches the parent's. A write waits at most
``WRITE_BUSY_MS`` for a lock (PostgreSQL's ``lock_timeout``); a lock it cannot get, a server
that is down or refuses connections, a full disk or a read-only server make the batch wait in
the run manager's journal (``StoreUnavailable``), while errors in the data are raised as they
are. Concurrent first openers apply the schema's migrations once, under an advisory lock.

The password never leaves the connection: :attr:`PostgresStore.uri` (the journal's key),
``describe()`` and every message hold the URI without it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tracklm._errors import InvalidTrackingUri, StoreError
from tracklm._run_manager.records import Batch
from tracklm.stores._migrations import check_version, upgrade
from tracklm.stores._postgres_schema import MIGRATIONS, SCHEMA_VERSION
from tracklm.stores._sql_store import Connection, SQLStore
from tracklm.stores._uri import mask_password, redact, without_password
from tracklm.stores.artifacts import ArtifactRepository
from tracklm.stores.base import StoreUnavailable

if TYPE_CHECKING:
    import psycopg

__all__ = ["INSTALL_HINT", "PostgresStore"]

INSTALL_HINT: Final = "pip install 'tracklm[postgres]'"
_IDENTIFIER: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
# SQLSTATE classes of errors that may pass: connection (08), transaction rollback such as a
# deadlock (40), insufficient resources such as a full disk (53), operator intervention such
# as a shutdown (57), system errors (58); and lock_not_available (55P03), read-only (25006).
_TRANSIENT_CLASSES: Final = ("08", "40", "53", "57", "58")
_TRANSIENT_STATES: Final = ("55P03", "25006")

# Connections inherited from a parent process: kept referenced so that the child never
# closes them (closing one would end the parent's session on the server).
_inherited: list[Any] = []


class PostgresStore(SQLStore):
    """The store in a PostgreSQL database, plus an artifact repository."""

    WRITE_BUSY_MS = 1_000
    """A row lock held by another writer is waited for this long, then the batch is
    journaled. Longer than SQLite's: locks here are per row, held for milliseconds, by
    writers that may be on other machines."""
    CONNECT_TIMEOUT_S = 5
    WRITE_ATTEMPTS = 3
    """Tries of a batch that lost a deadlock or a serialization conflict."""
    METRIC_ORDER = "seq"
    METRIC_IS_NUMBER = "value <> 'NaN'"  # NaN equals NaN in PostgreSQL
    NEW_TABLE = (
        "INSERT INTO tables (run_id, artifact_file, columns, row_count, file_size) "
        "VALUES (?, ?, '[]', 0, 0) ON CONFLICT DO NOTHING"
    )
    LOCK_ROW = " FOR UPDATE"
    ILIKE = "ILIKE"

    def __init__(self, uri: str, artifacts: ArtifactRepository) -> None:
        self._psycopg = _driver()
        self._secret_uri = uri
        self.uri = without_password(uri)
        self.location = mask_password(uri)
        self.artifacts = artifacts
        self._conninfo, self.schema = _conninfo(uri, self._psycopg)
        self._local = threading.local()
        self._pid = os.getpid()
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> _Connection:
        if self._pid != os.getpid():
            self.after_fork()
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.raw.closed:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> _Connection:
        psycopg = self._psycopg
        try:
            raw = psycopg.connect(**self._conninfo)
        except psycopg.Error as exc:
            # libpq may quote parts of the connection string: keep only a masked message
            raise StoreUnavailable(
                f"cannot connect to {self.location}: {self._message(exc)}"
            ) from None
        conn = _Connection(raw)
        try:
            if not self._schema_ready:
                with self._schema_lock:
                    if not self._schema_ready:
                        self._migrate(raw)
                        self._schema_ready = True
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, raw: psycopg.Connection[Any]) -> None:
        """Bring the schema to ``SCHEMA_VERSION`` under an advisory lock (first openers race)."""
        found = raw.execute("SELECT to_regclass('tracklm_schema')").fetchone()
        if found is not None and found[0] is not None:
            row = raw.execute("SELECT version FROM tracklm_schema").fetchone()
            version = int(row[0]) if row else 0
            check_version(version, SCHEMA_VERSION, self.location)
            if version == SCHEMA_VERSION:
                return  # the common case: no lock taken
        key = int.from_bytes(
            hashlib.sha256(f"tracklm schema {self.schema or ''}".encode()).digest()[:8],
            "big",
            signed=True,
        )
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            exists = raw.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)
            ).fetchone()
            if self.schema and not exists:  # (a user may own a schema, not the database)
                raw.execute(f'CREATE SCHEMA "{self.schema}"')
            upgrade(_Borrowed(raw), MIGRATIONS, self.location)

    def after_fork(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.pid = -1  # never closed by this process
            _inherited.append(conn)
        self._local = threading.local()
        self._pid = os.getpid()

    def close(self) -> None:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _forget_connection(self) -> None:
        """Drop this thread's connection if it broke (the next use opens another)."""
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None and (conn.raw.closed or conn.raw.broken):
            conn.close()
            self._local.conn = None

    # -- writes ------------------------------------------------------------------------------

    def write_batch(self, batch: Batch) -> None:
        for attempt in range(1, self.WRITE_ATTEMPTS + 1):
            try:
                super().write_batch(batch)
                return
            except StoreUnavailable as exc:
                # class 40: a deadlock or serialization failure, which another try may win
                lost_a_race = str(getattr(exc.__cause__, "sqlstate", "")).startswith("40")
                if not lost_a_race or attempt == self.WRITE_ATTEMPTS:
                    raise

    @contextmanager
    def _write(self, busy_ms: int) -> Iterator[_Connection]:
        try:
            conn = self._conn()
            with conn.raw.transaction():
                conn.raw.execute(f"SET LOCAL lock_timeout = {int(busy_ms)}")
                yield conn
        except BaseException as exc:
            self._forget_connection()
            if self._unavailable(exc):
                raise StoreUnavailable(f"{self.location}: {self._message(exc)}") from exc
            raise

    def _insert_many(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        """COPY: many times faster than INSERTs for a batch of rows."""
        assert isinstance(conn, _Connection)
        with (
            conn.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    # -- what the shared code asks -----------------------------------------------------------

    def _driver_unavailable(self, exc: Exception) -> bool:
        psycopg = self._psycopg
        if not isinstance(exc, psycopg.Error):
            return False
        state = exc.sqlstate
        if state:  # the server's verdict
            return bool(state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_STATES)
        # no SQLSTATE: the client lost or could not make the connection
        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))

    def _driver_error(self, exc: Exception) -> bool:
        """Whether ``exc`` is psycopg's (a broken connection is dropped on the way)."""
        if isinstance(exc, self._psycopg.Error):
            self._forget_connection()
            return True
        return False

    def _is_conflict(self, exc: Exception) -> bool:
        return isinstance(exc, self._psycopg.errors.UniqueViolation)

    def _message(self, exc: BaseException) -> str:
        return redact(str(exc).strip(), self._secret_uri)

    def describe(self) -> dict[str, Any]:
        info = self._conninfo
        where = f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}"
        database = f"{where}/{info.get('dbname') or ''}"
        return {
            "uri": self.location,
            "database": database + (f" (schema {self.schema})" if self.schema else ""),
            "artifacts": self.artifacts.describe(),
        }


class _Connection:
    """A psycopg connection that speaks the shared SQL (``?`` placeholders).

    Closed when dropped (a thread that ends takes its connection with it), but only by the
    process that opened it.
    """

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.pid = os.getpid()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        return self.raw.execute(_placeholders(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(_placeholders(sql), parameters)

    def close(self, _getpid: Callable[[], int] = os.getpid) -> None:
        try:
            if self.pid == _getpid() and not self.raw.closed:
                self.raw.close()
        except Exception:  # a broken connection may fail to say goodbye; so may interpreter exit
            pass

    def __del__(self) -> None:
        self.close()


class _Borrowed(_Connection):
    """A connection lent for a while (to a migration): never closed through this object."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        if not parameters:  # a statement of a migration script: nothing to translate
            return self.raw.execute(sql)
        return super().execute(sql, parameters)

    def close(self, _getpid: Callable[[], int] = os.getpid) -> None:
        pass


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> Any:
    """The shared SQL's ``?`` as psycopg's ``%s`` (the SQL holds no literal ``?`` or ``%``)."""
    return sql.replace("?", "%s")


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "A postgresql:// tracking URI needs the psycopg driver: " + INSTALL_HINT
        ) from None
    return psycopg


def _conninfo(uri: str, psycopg: Any) -> tuple[dict[str, Any], str | None]:
    """The keyword arguments of ``psycopg.connect`` for ``uri``, and its ``schema``."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    if schema is not None and (not schema or not set(schema) <= _IDENTIFIER or schema[0].isdigit()):
        raise InvalidTrackingUri(
            f"The schema {schema!r} in {mask_password(uri)!r} is not a plain name; use "
            "lower-case letters, digits and underscores."
        )
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    plain = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment))
    try:
        params: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(plain)
    except psycopg.Error as exc:
        message = redact(str(exc).strip(), uri)
        raise InvalidTrackingUri(
            f"Tracking URI {mask_password(uri)!r} is not a PostgreSQL URI libpq reads: {message}"
        ) from None
    # session settings, before the URI's own options (which win): reads wait for a lock as
    # long as SQLite's do; the schema, if any, holds tracklm's tables
    settings = f"-c lock_timeout={PostgresStore.READ_BUSY_MS}"
    if schema:
        settings += f" -c search_path={schema}"
    params["options"] = f"{settings} {params.get('options') or ''}".strip()
    params.setdefault("connect_timeout", PostgresStore.CONNECT_TIMEOUT_S)
    params.setdefault("application_name", "tracklm")
    params["autocommit"] = True
    return params, schema
