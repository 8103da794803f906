"""What only the PostgreSQL store has: a server that can be down, a password to keep, a
driver to install, and URIs of its own."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

import tracklm
from tracklm import StoreError, TracklmError
from tracklm._run_manager.journal import store_key
from tracklm._run_manager.records import Batch, CreateExperiment, CreateRun, LogMetric
from tracklm.cli import main
from tracklm.stores import StoreUnavailable, mask_password, open_store, resolve_uri
from tracklm.stores._uri import password_of, without_password
from tracklm.stores.postgres import PostgresStore

from . import _postgres
from .conftest import closed_port

SECRET = "S3cret-pw_42"


def run_records(run_id: str = "r1") -> list[object]:
    return [
        CreateExperiment("e1", "exp", 1),
        CreateRun(run_id, "e1", "exp", "run", 10, {}, None),
    ]


@pytest.fixture
def uri_with_password(postgres_uri: str) -> str:
    """The test schema's URI with a password in it (the test server trusts, so any works)."""
    parts = urlsplit(postgres_uri)
    user, _, hosts = parts.netloc.rpartition("@")
    netloc = f"{user.split(':')[0] or 'postgres'}:{SECRET}@{hosts}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


@pytest.fixture
def pg_store(
    postgres_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PostgresStore]:
    monkeypatch.setenv("TRACKLM_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    store = open_store(postgres_uri)
    assert isinstance(store, PostgresStore)
    yield store
    store.close()


# -- URIs (no server needed) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://u:p%40ss@db.example:5432/runs",
        "postgres://u:p%40ss@db.example:5432/runs",
        "postgresql+psycopg://u:p%40ss@db.example:5432/runs",
    ],
)
def test_postgres_uris_normalize_to_one_form(given: str) -> None:
    assert resolve_uri(given) == "postgresql://u:p%40ss@db.example:5432/runs"


def test_passwords_are_masked_or_left_out_in_every_place_they_can_be() -> None:
    uri = "postgresql://u:topsecret@h:5432/db?sslmode=require&password=qsecret&schema=s"
    assert mask_password("postgresql://u:topsecret@h/db") == "postgresql://u:***@h/db"
    masked = mask_password(uri)
    assert "secret" not in masked
    assert "u:***@h:5432" in masked
    assert "password=***" in masked
    assert "schema=s" in masked
    plain = without_password(uri)
    assert "secret" not in plain
    assert "password" not in plain
    assert plain == "postgresql://u@h:5432/db?sslmode=require&schema=s"
    assert password_of("postgresql://u:topsecret@h/db") == "topsecret"
    assert password_of("postgresql://u@h/db") is None
    assert mask_password("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_a_missing_driver_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(TracklmError, match=r"pip install 'tracklm\[postgres\]'"):
        open_store("postgresql://u:pw@127.0.0.1/db")


def test_a_schema_that_is_not_a_plain_name_is_refused() -> None:
    with pytest.raises(tracklm.InvalidTrackingUri, match="plain name"):
        open_store('postgresql://u@127.0.0.1/db?schema=x";drop')


# -- a server that refuses ---------------------------------------------------------------------


def test_a_server_that_is_not_there_is_unavailable_for_writes_and_an_error_for_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKLM_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    store = open_store(f"postgresql://postgres:{SECRET}@127.0.0.1:{closed_port()}/test")
    with pytest.raises(StoreUnavailable) as unavailable:
        store.write_batch(Batch([LogMetric("r", "m", 1.0, 0, 1)]))
    assert "127.0.0.1" in str(unavailable.value)
    with pytest.raises(StoreError) as read:
        store.list_experiments()
    for message in (str(unavailable.value), str(read.value)):
        assert SECRET not in message


def test_a_connection_the_server_ended_is_replaced(pg_store: PostgresStore) -> None:
    pg_store.write_batch(Batch(run_records()))  # type: ignore[arg-type]
    backend = pg_store._conn().raw.info.backend_pid
    url = _postgres.server_url()
    assert url is not None
    with _postgres.admin(url) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with pytest.raises(StoreUnavailable):
        pg_store.write_batch(Batch([LogMetric("r1", "m", 1.0, 0, 1)]))
    pg_store.write_batch(Batch([LogMetric("r1", "m", 2.0, 1, 1)]))  # on a new connection
    assert [m.value for m in pg_store.get_metric_history("r1", "m")] == [2.0]


# -- secrets -----------------------------------------------------------------------------------


def test_the_password_is_never_shown_logged_or_used_as_a_key(
    uri_with_password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="tracklm")
    monkeypatch.chdir(tmp_path)  # the default artifact root is logged: no password in it
    store = open_store(uri_with_password)
    assert SECRET not in store.uri
    assert SECRET not in repr(store.describe())
    assert store_key(store.uri) == store_key(without_password(uri_with_password))

    assert main(["--tracking-uri", uri_with_password, "experiments"]) == 0
    tracklm.set_tracking_uri(uri_with_password)
    with tracklm.start_run() as run:
        tracklm.log_metric("m", 1.0)
    assert tracklm.flush(10).ok
    assert main(["--tracking-uri", uri_with_password, "show", run.info.run_id]) == 0
    assert main(["--tracking-uri", uri_with_password, "show", "no-such-run"]) == 1
    with pytest.raises(tracklm.RunNotFound) as missing:
        tracklm.get_run("no-such-run")
    out = capsys.readouterr()
    assert "No experiments yet in postgresql://" in out.out
    assert SECRET not in out.out + out.err + str(missing.value)
    assert not [r for r in caplog.records if SECRET in r.getMessage()]
    assert not [p for p in (tmp_path / "journal").rglob("*") if SECRET in str(p)]


def test_without_an_artifact_root_artifacts_go_under_the_working_directory_and_it_is_logged(
    postgres_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.WARNING, logger="tracklm")
    store = open_store(postgres_uri)
    expected = tmp_path / "tracklm-runs" / "artifacts"
    assert store.artifacts.root == str(expected)
    assert any(str(expected) in r.getMessage() for r in caplog.records)
