"""Schema versions, shared by the SQL stores.

A store records its schema version in the one-row table ``tracklm_schema``; ``migrations[n]``
takes it from version ``n`` to ``n + 1``: a script of statements, or a function given the
connection (``?`` placeholders) for what SQL alone cannot do the same way in both databases.
:func:`upgrade` runs inside a transaction that holds the store's migration lock (SQLite's write
lock, a PostgreSQL advisory lock), so concurrent first openers apply each migration once. A
store written by a newer tracklm is refused with a message rather than changed. Never edit a
released migration: append a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeAlias

from tracklm._errors import StoreError


class MigrationConnection(Protocol):
    """What a migration uses of a connection (``?`` placeholders)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


Migration: TypeAlias = "str | Callable[[MigrationConnection], None]"


def upgrade(conn: MigrationConnection, migrations: Sequence[Migration], where: str) -> None:
    """Bring the schema to ``len(migrations)``."""
    target = len(migrations)
    conn.execute("CREATE TABLE IF NOT EXISTS tracklm_schema (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM tracklm_schema").fetchone()
    version = int(row[0]) if row else 0
    check_version(version, target, where)
    for migration in migrations[version:]:
        if callable(migration):
            migration(conn)
            continue
        for statement in migration.split(";"):
            if statement.strip():
                conn.execute(statement)
    if row is None:
        conn.execute(f"INSERT INTO tracklm_schema VALUES ({target})")
    elif version != target:
        conn.execute(f"UPDATE tracklm_schema SET version = {target}")


def check_version(version: int, known: int, where: str) -> None:
    """Refuse a store whose schema is newer than this tracklm knows."""
    if version > known:
        raise StoreError(
            f"The store {where} was written by a newer tracklm (schema {version}; this tracklm "
            f"knows up to {known}). Upgrade tracklm to use it."
        )
