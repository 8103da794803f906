"""Schema versions, shared by the SQL stores.

A store records its schema version in the one-row table ``tracklm_schema``; ``migrations[n]``
takes it from version ``n`` to ``n + 1``. :func:`upgrade` runs inside a transaction that holds
the store's migration lock (SQLite's write lock, a PostgreSQL advisory lock), so concurrent
first openers apply each migration once. A store written by a newer tracklm is refused with a
message rather than changed. Never edit a released migration: append a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tracklm._errors import StoreError


def upgrade(execute: Callable[[str], Any], migrations: Sequence[str], where: str) -> None:
    """Bring the schema to ``len(migrations)``; ``execute`` runs one statement, no parameters."""
    target = len(migrations)
    execute("CREATE TABLE IF NOT EXISTS tracklm_schema (version INTEGER NOT NULL)")
    row = execute("SELECT version FROM tracklm_schema").fetchone()
    version = int(row[0]) if row else 0
    check_version(version, target, where)
    for script in migrations[version:]:
        for statement in script.split(";"):
            if statement.strip():
                execute(statement)
    if row is None:
        execute(f"INSERT INTO tracklm_schema VALUES ({target})")
    elif version != target:
        execute(f"UPDATE tracklm_schema SET version = {target}")


def check_version(version: int, known: int, where: str) -> None:
    """Refuse a store whose schema is newer than this tracklm knows."""
    if version > known:
        raise StoreError(
            f"The store {where} was written by a newer tracklm (schema {version}; this tracklm "
            f"knows up to {known}). Upgrade tracklm to use it."
        )
