"""The test PostgreSQL server: a fresh schema per test, and ways to make it refuse writes.

Tests that need the server use the one ``TRACKLM_TEST_POSTGRES_URL`` names, and are skipped
without it, with a message saying how to run them.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Final

from ..run_manager._subprocess import LockHolder

ENV: Final = "TRACKLM_TEST_POSTGRES_URL"
HOW_TO: Final = (
    f"PostgreSQL tests need a server: {ENV}=postgresql://postgres@127.0.0.1:5432/test uv run pytest"
)


def server_url() -> str | None:
    return os.environ.get(ENV) or None


def with_query(url: str, **params: str) -> str:
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


def new_schema_name() -> str:
    return f"tracklm_test_{uuid.uuid4().hex[:12]}"


def admin(url: str) -> Any:
    """A plain autocommit psycopg connection to the test server (no tracklm involved)."""
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


_reachable: set[str] = set()


def check_server(url: str) -> None:
    """Fail (not skip) when the server named for the tests cannot be reached."""
    if url in _reachable:
        return
    import pytest

    try:
        admin(url).close()
    except Exception as exc:
        pytest.fail(f"{ENV}={url} names a server that cannot be reached: {exc}", pytrace=False)
    _reachable.add(url)


def drop_schema(url: str, schema: str) -> None:
    with admin(url) as conn:
        conn.execute("SET lock_timeout = '20s'")
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


_HOLD_LOCK = """
import sys, psycopg
conn = psycopg.connect(sys.argv[1], autocommit=True)
conn.execute(f'SET search_path TO "{sys.argv[2]}"')
with conn.transaction():
    conn.execute("LOCK TABLE " + sys.argv[3] + " IN ACCESS EXCLUSIVE MODE")
    print("locked", flush=True)
    sys.stdin.readline()  # hold the lock until the test writes a line
"""


class TableLockHolder(LockHolder):
    """Another process holding ``ACCESS EXCLUSIVE`` locks on tables of a schema until released:
    the store's writes time out on them (``lock_timeout``) and go to the journal."""

    def __init__(self, url: str, schema: str, tables: str = "metrics, table_rows") -> None:
        super().__init__(_HOLD_LOCK, url, schema, tables)
