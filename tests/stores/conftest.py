"""Store fixtures: every contract test runs on SQLite and on PostgreSQL (and, in
test_contract.py, on an MLflow server: ``mlflow_uri``).

The PostgreSQL half uses the server ``TRACKLM_TEST_POSTGRES_URL`` names, a fresh schema per
test; without the variable it is skipped with a message saying how to run it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tracklm.stores import open_store
from tracklm.stores._sql_store import SQLStore
from tracklm.stores.mlflow import MLflowStore
from tracklm.stores.postgres import PostgresStore
from tracklm.stores.sqlite import SQLiteStore

from ..run_manager._subprocess import WriteLockHolder
from . import _postgres


@pytest.fixture(params=["sqlite", "postgres"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store's tracking URI: a SQLite folder, or a schema on the test server."""
    if request.param == "postgres":
        uri: str = request.getfixturevalue("postgres_uri")
        return uri
    return str(tmp_path / "contract-store")


@pytest.fixture
def artifact_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "artifacts"
    monkeypatch.setenv("TRACKLM_ARTIFACT_ROOT", str(root))
    return root


@pytest.fixture
def store(tracking_uri: str, artifact_root: Path) -> Iterator[SQLStore]:
    """The store the tracking URI names, its artifacts in the test's folder (an MLflow
    server keeps its own)."""
    opened = open_store(tracking_uri)
    assert isinstance(opened, (SQLStore, MLflowStore))
    yield opened
    opened.close()


def hold_writes(store: SQLStore) -> Any:
    """Another process holding the locks the store's writes need, until ``.release()``."""
    store.list_experiments()  # the schema exists before anyone locks it
    if isinstance(store, SQLiteStore):
        return WriteLockHolder(store.db_path)
    assert isinstance(store, PostgresStore)
    url = _postgres.server_url()
    assert url is not None
    assert store.schema is not None
    return _postgres.TableLockHolder(url, store.schema)


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
