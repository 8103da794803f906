"""Every test gets its own store and journal folder, and a clean fluent state.

The store is a SQLite folder, or with ``TRACKLM_TEST_STORE=postgres`` a fresh schema on the
PostgreSQL server ``TRACKLM_TEST_POSTGRES_URL`` names (artifacts then go to the test's folder):
the same tests then run against PostgreSQL. Tests marked ``sqlite_only`` check SQLite's own
forms (paths, URIs spelled three ways) and are skipped there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracklm
from tracklm import _fluent, _run_manager
from tracklm.autolog import _runs

from .stores import _postgres

# one MLflow server for the whole session, shared by the store's tests and the migration's
from .stores.mlflow._server import mlflow_server, mlflow_uri  # noqa: F401 (fixtures)

TEST_STORE = os.environ.get("TRACKLM_TEST_STORE", "sqlite")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: checks the SQLite store's own forms; skipped on PostgreSQL"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if TEST_STORE == "postgres":
        skip = pytest.mark.skip(reason="SQLite's own forms (TRACKLM_TEST_STORE=postgres)")
        for item in items:
            if item.get_closest_marker("sqlite_only"):
                item.add_marker(skip)


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """A tracking URI for a fresh schema on the test server, dropped after the test."""
    url = _postgres.server_url()
    if url is None:
        pytest.skip(_postgres.HOW_TO)
    _postgres.check_server(url)
    schema = _postgres.new_schema_name()
    yield _postgres.with_query(url, schema=schema)
    _run_manager.shutdown_all(timeout=10)  # before the drop: nothing may write to it after
    _postgres.drop_schema(url, schema)


@pytest.fixture(autouse=True)
def _isolated_tracklm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[None]:
    for name in (
        "TRACKLM_TRACKING_URI",
        "TRACKLM_EXPERIMENT_NAME",
        "TRACKLM_EXIT_TIMEOUT",
        "TRACKLM_ARTIFACT_ROOT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRACKLM_JOURNAL_DIR", str(tmp_path / "journal"))
    _fluent._reset()
    if TEST_STORE == "postgres":
        uri = request.getfixturevalue("postgres_uri")
        monkeypatch.setenv("TRACKLM_ARTIFACT_ROOT", str(tmp_path / "store" / "artifacts"))
    else:
        uri = str(tmp_path / "store")
    tracklm.set_tracking_uri(uri)
    yield
    tracklm.autolog(disable=True)
    _runs.end_autolog_runs()
    _fluent._reset()
    _run_manager.shutdown_all(timeout=10)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """The folder of this test's SQLite store (the tracking URI, unless on PostgreSQL)."""
    return tmp_path / "store"
