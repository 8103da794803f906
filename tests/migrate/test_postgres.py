"""Migrating from the embedded store to PostgreSQL and back.

Uses the server ``TRACKLM_TEST_POSTGRES_URL`` names (a fresh schema per test); skipped with a
message saying how to run them without it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tracklm.migrate import migrate
from tracklm.stores import resolve_uri
from tracklm.stores._uri import without_password
from tracklm.stores.postgres import PostgresStore

from ._data import runs_frame, snapshot, tables
from .conftest import Source
from .test_interrupted import Killed, die_at_write


@pytest.fixture
def postgres(postgres_uri: str, tmp_path: Path) -> tuple[str, Path]:
    """A fresh PostgreSQL store's URI, and the artifact root it is given."""
    return postgres_uri, tmp_path / "postgres-artifacts"


def test_sqlite_to_postgres_copies_every_field_and_a_second_run_nothing(
    source: Source, postgres: tuple[str, Path]
) -> None:
    uri, root = postgres
    report = migrate(source.uri, uri, dst_artifact_root=root)

    assert snapshot(uri, root) == snapshot(source.uri)
    pd.testing.assert_frame_equal(runs_frame(uri, root), runs_frame(source.uri))
    run_ids = list(source.ids.values())
    for copied, original in zip(
        tables(uri, run_ids, root), tables(source.uri, run_ids), strict=True
    ):
        pd.testing.assert_frame_equal(copied, original)
    assert (report.runs_created, report.files_copied) == (5, 3)
    assert report.destination.startswith("postgresql://")
    assert (root / "0").is_dir()  # artifacts went to the root given for the destination

    again = migrate(source.uri, uri, dst_artifact_root=root)
    assert not again.copied_anything
    assert again.files_present == 3
    assert snapshot(uri, root) == snapshot(source.uri)


def test_postgres_back_to_sqlite_gives_the_original_store(
    source: Source, postgres: tuple[str, Path], tmp_path: Path
) -> None:
    uri, root = postgres
    migrate(source.uri, uri, dst_artifact_root=root)
    back = str(tmp_path / "back")

    report = migrate(uri, back, src_artifact_root=root)

    assert snapshot(back) == snapshot(source.uri)
    assert (report.runs_created, report.files_copied) == (5, 3)
    assert report.source.startswith("postgresql://")
    assert "schema=" in report.source


def test_a_migration_to_postgres_killed_mid_run_is_completed_by_the_next(
    source: Source, postgres: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, root = postgres
    monkeypatch.setattr("tracklm.migrate._run.MAX_RECORDS", 4)
    for n, after in ((4, False), (9, True)):
        die_at_write(monkeypatch, PostgresStore, without_password(resolve_uri(uri)), n, after)
        with pytest.raises(Killed):
            migrate(source.uri, uri, dst_artifact_root=root)
        monkeypatch.undo()
        monkeypatch.setattr("tracklm.migrate._run.MAX_RECORDS", 4)
    migrate(source.uri, uri, dst_artifact_root=root)
    assert snapshot(uri, root) == snapshot(source.uri)
    assert not migrate(source.uri, uri, dst_artifact_root=root).copied_anything


def test_a_password_in_the_uri_is_not_in_the_report(
    source: Source, postgres: tuple[str, Path]
) -> None:
    uri, root = postgres
    secret = uri.replace("postgresql://postgres@", "postgresql://postgres:hunter2-SECRET@", 1)
    if secret == uri:
        pytest.skip("the test server's URL is not postgresql://postgres@...")
    report = migrate(source.uri, secret, dst_artifact_root=root)
    assert "hunter2" not in report.summary() + str(report.to_dict())
    assert "postgres:***@" in report.destination
