"""The reads a browser makes, on every store: pages of a table, facets, joins, metric samples.

Each query is also checked against :class:`Store`'s default (which reads whole tables in
Python), so that the SQL and the default agree.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tracklm import InvalidValue
from tracklm._run_manager.records import AppendRows, LogMetric, Record, SetRunStatus
from tracklm.entities import Metric
from tracklm.stores import Store, open_store
from tracklm.stores._postgres_schema import MIGRATIONS as POSTGRES_MIGRATIONS
from tracklm.stores._sql_store import SQLStore
from tracklm.stores._sqlite_schema import MIGRATIONS as SQLITE_MIGRATIONS
from tracklm.stores.base import MetricSample, downsample
from tracklm.stores.postgres import PostgresStore
from tracklm.stores.sqlite import SQLiteStore

from . import _postgres
from .test_contract import new_run, write


def prediction(i: int, **cells: Any) -> dict[str, Any]:
    row = {
        "step": i,
        "operation": "embedding" if i % 5 == 0 else "chat",
        "model": "gpt-4o" if i % 2 else "gpt-4o-mini",
        "inputs": json.dumps([{"role": "user", "content": f"question {i % 7}"}]),
        "outputs": f"answer {i}",
        "status": "error" if i % 10 == 3 else "ok",
    }
    return row | cells


def fill(store: SQLStore, run_id: str = "r1", rows: int = 40, experiment: str = "e1") -> None:
    write(store, *new_run(run_id, experiment))
    write(store, AppendRows(run_id, "predictions.csv", [prediction(i) for i in range(rows)]))


def numbers(page: Any) -> list[int]:
    return [n for n, _ in page.rows]


def both(store: SQLStore, method: str, *args: Any, **kwargs: Any) -> Any:
    """The store's answer, checked against the default implementation's."""
    answer = getattr(store, method)(*args, **kwargs)
    assert answer == getattr(Store, method)(store, *args, **kwargs)
    return answer


# -- pages -------------------------------------------------------------------------------------


def test_a_page_is_a_range_of_rows_in_either_order(store: SQLStore) -> None:
    fill(store, rows=25)
    page = both(store, "query_table", "r1", "predictions.csv", offset=10, limit=5)
    assert (numbers(page), page.total) == ([10, 11, 12, 13, 14], 25)
    assert page.rows[0][1] == prediction(10)
    page = both(store, "query_table", "r1", "predictions.csv", offset=20, limit=10)
    assert numbers(page) == [20, 21, 22, 23, 24]
    page = both(store, "query_table", "r1", "predictions.csv", limit=3, descending=True)
    assert numbers(page) == [24, 23, 22]
    page = both(store, "query_table", "r1", "predictions.csv", offset=23, limit=5, descending=True)
    assert numbers(page) == [1, 0]
    page = both(store, "query_table", "r1", "predictions.csv", offset=99, limit=5)
    assert (page.rows, page.total) == ([], 25)
    assert store.query_table("r1", "other.csv") is None
    assert store.query_table("nope", "predictions.csv") is None


def test_filters_keep_rows_whose_status_model_and_operation_are_equal(store: SQLStore) -> None:
    fill(store, rows=40)
    page = both(store, "query_table", "r1", "predictions.csv", filters={"status": "error"})
    assert (numbers(page), page.total) == ([3, 13, 23, 33], 4)
    page = both(
        store,
        "query_table",
        "r1",
        "predictions.csv",
        filters={"model": "gpt-4o", "operation": "embedding"},
        limit=2,
        offset=1,
        descending=True,
    )
    assert (numbers(page), page.total) == ([25, 15], 4)
    with pytest.raises(InvalidValue, match="status, model, operation"):
        store.query_table("r1", "predictions.csv", filters={"outputs": "x"})


def test_text_search_looks_in_values_not_in_column_names(store: SQLStore) -> None:
    write(store, *new_run())
    rows = [
        {"inputs": "Où est la gare?", "outputs": "Tout droit", "status": "ok"},
        {"inputs": "Where's 100% of it?", "outputs": 'She said "hi"\nthen left', "status": "ok"},
        {"inputs": "What is the model?", "outputs": None, "status": "error", "n": 12.5},
        {"inputs": "a_b", "outputs": "x!y", "status": "ok"},
    ]
    write(store, AppendRows("r1", "t.jsonl", rows))

    def found(search: str, **kwargs: Any) -> list[int]:
        return numbers(both(store, "query_table", "r1", "t.jsonl", search=search, **kwargs))

    assert found("OÙ EST") == []  # only ASCII letters ignore their case
    assert found("où est") == [0]
    assert found("TOUT") == [0]
    assert found("100%") == [1]
    assert found('said "hi"') == [1]
    assert found('"\nthen') == [1]
    assert found("model") == [2]  # in a value, though every row has no such column
    assert found("status") == []  # a column name only
    assert found("12.5") == [2]
    assert found("_") == [3]  # LIKE's wildcards and escape are plain text here
    assert found("!") == [3]
    assert found("%") == [1]
    assert found("ok", filters={"status": "ok"}, limit=1, offset=1) == [1]
    page = store.query_table("r1", "t.jsonl", search="T", filters={"status": "ok"}, limit=1)
    assert page is not None
    assert (numbers(page), page.total) == ([0], 2)


def test_facets_count_each_value_most_frequent_first(store: SQLStore) -> None:
    fill(store, rows=40)
    write(
        store,
        AppendRows("r1", "predictions.csv", [{"status": "x" * 201, "model": 7, "inputs": "q"}]),
    )
    facets = both(store, "table_facets", "r1", "predictions.csv")
    assert facets == {
        "status": [("ok", 36), ("error", 4)],
        "model": [("gpt-4o", 20), ("gpt-4o-mini", 20)],
        "operation": [("chat", 32), ("embedding", 8)],
    }
    assert both(store, "table_facets", "r1", "predictions.csv", limit=1)["status"] == [("ok", 36)]
    assert store.table_facets("r1", "missing.csv") == {}


def test_odd_text_in_facet_columns_is_stored_and_left_out_of_facets(store: SQLStore) -> None:
    write(store, *new_run())
    odd = [{"status": "a\x00b", "model": "\ud800", "operation": "é", "inputs": "\ud800"}]
    write(store, AppendRows("r1", "t.jsonl", odd))
    assert store.read_table("r1", "t.jsonl") == odd
    assert both(store, "table_facets", "r1", "t.jsonl") == {"operation": [("é", 1)]}
    page = both(store, "query_table", "r1", "t.jsonl", filters={"operation": "é"})
    assert numbers(page) == [0]


# -- joins -------------------------------------------------------------------------------------


def test_rows_of_several_runs_are_joined_on_equal_inputs(store: SQLStore) -> None:
    write(store, *new_run("a"), *new_run("b"), *new_run("c"))
    write(
        store,
        AppendRows("a", "p.csv", [{"inputs": q, "outputs": f"a-{q}"} for q in "xyzx"]),
        AppendRows("b", "p.csv", [{"inputs": q, "outputs": f"b-{q}"} for q in "wzxx"]),
        AppendRows("c", "p.csv", [{"outputs": "no inputs"}]),
    )
    join = both(store, "join_tables", ["a", "b"], "p.csv")
    assert join.total == 4
    assert [g.inputs for g in join.groups] == ["x", "y", "z", "w"]
    x = join.groups[0]
    assert x.counts == [2, 2]
    assert [[n for n, _ in rows] for rows in x.rows] == [[0, 3], [2, 3]]
    assert x.rows[1][0][1] == {"inputs": "x", "outputs": "b-x"}
    assert join.groups[1].counts == [1, 0]
    assert join.groups[1].rows[1] == []

    join = both(store, "join_tables", ["b", "a"], "p.csv", in_all=True, rows_per_run=1)
    assert [(g.inputs, g.counts) for g in join.groups] == [("z", [1, 1]), ("x", [2, 2])]
    assert [len(rows) for rows in join.groups[1].rows] == [1, 1]
    join = both(store, "join_tables", ["a", "b"], "p.csv", offset=1, limit=2)
    assert ([g.inputs for g in join.groups], join.total) == (["y", "z"], 4)
    assert both(store, "join_tables", ["a", "c"], "p.csv", in_all=True).total == 0
    assert both(store, "join_tables", ["a", "missing"], "p.csv", in_all=True).total == 0
    assert both(store, "join_tables", ["a", "missing"], "p.csv").total == 3


def test_inputs_that_are_not_text_join_on_their_value(store: SQLStore) -> None:
    write(store, *new_run("a"), *new_run("b"))
    messages = [{"role": "user", "content": "hi"}]
    write(
        store,
        AppendRows("a", "p.jsonl", [{"inputs": messages, "outputs": 1}]),
        AppendRows("b", "p.jsonl", [{"inputs": [dict(reversed(messages[0].items()))]}]),
    )
    join = both(store, "join_tables", ["a", "b"], "p.jsonl", in_all=True)
    assert [(g.inputs, g.counts) for g in join.groups] == [(messages, [1, 1])]


# -- metrics and experiments -------------------------------------------------------------------


def test_a_long_metric_history_is_thinned_keeping_its_peaks(store: SQLStore) -> None:
    write(store, *new_run())
    values = [float(i % 100) for i in range(10_000)]
    values[5_555] = 1e6
    values[7_777] = math.nan
    records: list[Record] = [LogMetric("r1", "m", v, i, 1_000 + i) for i, v in enumerate(values)]
    write(store, *records)
    sample: MetricSample = both(store, "sample_metric_history", "r1", "m", 400)
    assert sample.total == 10_000
    assert len(sample.points) <= 400
    assert max(p.value for p in sample.points) == 1e6
    assert min(p.value for p in sample.points) == 0.0
    assert not any(math.isnan(p.value) for p in sample.points)
    steps = [p.step for p in sample.points]
    assert steps == sorted(steps)
    assert (steps[0], steps[-1]) == (0, 9_999)
    part = both(store, "sample_metric_history", "r1", "m", 400, min_step=100, max_step=199)
    assert (part.total, [p.step for p in part.points]) == (100, list(range(100, 200)))
    assert both(store, "sample_metric_history", "r1", "none", 10) == MetricSample([], 0)


def test_downsample_keeps_short_histories_whole() -> None:
    assert downsample([], 10) == []
    points = [Metric("m", 1.0, i, i) for i in range(3)]
    assert downsample(points, 10) == points


def test_experiment_summaries_count_runs_and_find_the_last_activity(store: SQLStore) -> None:
    store.create_experiment("empty", "0")
    write(store, *new_run("r1", "e1"), *new_run("r2", "e1"))
    write(store, SetRunStatus("r2", "FINISHED", 500))
    summaries = both(store, "experiment_summaries")
    assert [(s.experiment.name, s.run_count, s.last_activity) for s in summaries] == [
        ("exp-e1", 2, 500),  # created at time 1 by its first run
        ("empty", 0, None),
    ]


# -- the migration -----------------------------------------------------------------------------

V1_ROWS = [
    {"inputs": "q1", "status": "ok", "model": "m", "operation": "chat", "x": math.nan},
    {"inputs": "q2", "status": "error", "model": "m", "operation": "chat"},
    {"other": 1},
]


def test_a_store_of_schema_1_gets_the_row_columns_of_its_rows(
    tracking_uri: str, artifact_root: Path
) -> None:
    """Rows stored before the columns existed are found by filters, facets and joins."""
    rows = [(1 << 32) + i for i in range(len(V1_ROWS))]
    texts = [json.dumps(r) for r in V1_ROWS]
    tables = ("r1", "p.csv", 1, json.dumps(["inputs"]), len(V1_ROWS), 0)
    if tracking_uri.startswith("postgresql"):
        url = _postgres.server_url()
        assert url is not None
        schema = tracking_uri.rsplit("schema=", 1)[1]
        with _postgres.admin(url) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'SET search_path TO "{schema}"')
            script = POSTGRES_MIGRATIONS[0]
            assert isinstance(script, str)
            for statement in filter(str.strip, script.split(";")):
                conn.execute(statement)
            conn.execute("CREATE TABLE tracklm_schema (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO tracklm_schema VALUES (1)")
            conn.execute("INSERT INTO tables VALUES (%s, %s, %s, %s, %s, %s)", tables)
            for key, text in zip(rows, texts, strict=True):
                conn.execute("INSERT INTO table_rows VALUES (%s, %s)", (key, text))
    else:
        Path(tracking_uri).mkdir(parents=True)
        conn = sqlite3.connect(Path(tracking_uri) / "tracklm.db", isolation_level=None)
        script = SQLITE_MIGRATIONS[0]
        assert isinstance(script, str)
        conn.executescript(script)
        conn.execute("CREATE TABLE tracklm_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO tracklm_schema VALUES (1)")
        conn.execute("INSERT INTO tables VALUES (?, ?, ?, ?, ?, ?)", tables)
        conn.executemany("INSERT INTO table_rows VALUES (?, ?)", zip(rows, texts, strict=True))
        conn.close()
    store = open_store(tracking_uri)
    assert isinstance(store, (SQLiteStore, PostgresStore))
    try:
        assert store.table_facets("r1", "p.csv") == {
            "status": [("error", 1), ("ok", 1)],
            "model": [("m", 2)],
            "operation": [("chat", 2)],
        }
        page = store.query_table("r1", "p.csv", filters={"status": "error"})
        assert page is not None
        assert numbers(page) == [1]
        assert store.join_tables(["r1"], "p.csv").total == 2
        assert len(store.read_table("r1", "p.csv") or []) == 3
    finally:
        store.close()
