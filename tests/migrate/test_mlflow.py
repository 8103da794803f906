"""Migrating into an MLflow tracking server (the MLflow store, over MLflow's REST API).

The server is a real ``mlflow server`` (see ``tests/stores/mlflow/_server.py``), an empty
workspace per test.
"""

from __future__ import annotations

from typing import Any

from tracklm.migrate import migrate

from ._data import snapshot
from .conftest import Source


def test_sqlite_to_mlflow_copies_every_field_and_a_second_run_nothing(
    source: Source,
    mlflow_uri: str,
) -> None:
    report = migrate(source.uri, mlflow_uri)

    copied, expected = snapshot(mlflow_uri), snapshot(source.uri)
    assert set(copied) == set(expected)
    for name, runs in expected.items():
        assert set(copied[name]) == set(runs)
        for run_id, run in runs.items():
            got: dict[str, Any] = dict(copied[name][run_id])
            files, wanted = got.pop("files"), run.pop("files")
            # the MLflow store adds, for MLflow's UI, a .json form of each table's file
            assert {path: files.get(path) for path in wanted} == wanted
            assert got == run
    assert (report.runs_created, report.files_copied, report.rows) == (5, 3, 11)

    again = migrate(source.uri, mlflow_uri)
    assert not again.copied_anything
    assert again.files_present == 3
