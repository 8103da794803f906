"""The web app over a PostgreSQL store: the same pages through the same Store interface.

Skipped without ``TRACKLM_TEST_POSTGRES_URL`` (see tests/stores/_postgres.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tracklm._run_manager.records import (
    AppendRows,
    Batch,
    CreateExperiment,
    CreateRun,
    LogMetric,
    LogParam,
)
from tracklm.stores import open_store
from tracklm.stores.postgres import PostgresStore

from .conftest import client_for
from .test_pages import rows_shown, run_names


def test_every_page_reads_a_postgresql_store(
    postgres_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKLM_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    store = open_store(postgres_uri)
    assert isinstance(store, PostgresStore)
    rows = [
        {"inputs": f"q{i % 40}", "outputs": f"a{i}", "status": "error" if i % 9 == 0 else "ok"}
        for i in range(120)
    ]
    store.write_batch(
        Batch(
            [
                CreateExperiment("1", "pg", 1),
                CreateRun("a", "1", "pg", "run-a", 10, {}, None),
                CreateRun("b", "1", "pg", "run-b", 20, {}, None),
                LogParam("a", "temperature", "0.1"),
                LogParam("b", "temperature", "0.9"),
                *[LogMetric("a", "loss", 1 / (i + 1), i, 100 + i) for i in range(3000)],
                AppendRows("a", "predictions.csv", rows),
                AppendRows("b", "predictions.csv", rows[:40]),
            ]
        )
    )
    try:
        with client_for(store) as client:
            assert '<td class="num">2</td>' in client.get("/").text
            runs = client.get("/experiments/1", params={"filter": "params.temperature = '0.9'"})
            assert run_names(runs.text) == ["run-b"]
            assert rows_shown(client.get("/runs/a", params={"status": "error"}).text) == list(
                range(0, 120, 9)
            )
            assert rows_shown(client.get("/runs/a", params={"q": "A119"}).text) == [119]
            assert rows_shown(client.get("/runs/a", params={"page": 3}).text) == list(
                range(100, 120)
            )
            assert "a7" in client.get("/runs/a/rows/7").text
            compare = client.get("/compare", params={"run": ["a", "b"], "all": "1"}).text
            assert "40 distinct inputs in predictions.csv that every run has" in compare
            chart = client.get("/api/runs/a/metrics/loss", params={"points": 100}).json()
            assert (chart["total"], chart["value"][0]) == (3000, 1.0)
            assert len(chart["value"]) <= 100
    finally:
        store.close()
