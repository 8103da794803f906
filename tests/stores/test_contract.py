"""The Store contract, run on every store (SQLite, PostgreSQL and an MLflow server) through the
same tests. Where a point cannot hold on an MLflow server, the test says why and leaves it out
there."""

from __future__ import annotations

import math
import os
import sqlite3
import time
from pathlib import Path

import pytest

from tracklm import ExperimentExists, StoreError
from tracklm._run_manager.records import (
    AppendRows,
    Batch,
    CreateExperiment,
    CreateRun,
    LogMetric,
    LogParam,
    Record,
    SetRunStatus,
    SetTag,
)
from tracklm.stores import StoreUnavailable, open_store
from tracklm.stores._sql_store import SQLStore
from tracklm.stores._sqlite_schema import SCHEMA_VERSION
from tracklm.stores.base import Store
from tracklm.stores.mlflow import MLflowStore
from tracklm.stores.postgres import PostgresStore
from tracklm.stores.sqlite import SQLiteStore

from . import _postgres
from .conftest import hold_writes


@pytest.fixture(params=["sqlite", "postgres", "mlflow"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store's tracking URI: a SQLite folder, a schema on the PostgreSQL test server,
    or an empty workspace on the session's MLflow server."""
    if request.param in ("postgres", "mlflow"):
        uri: str = request.getfixturevalue(f"{request.param}_uri")
        return uri
    return str(tmp_path / "contract-store")


def on_mlflow(store: Store) -> bool:
    return isinstance(store, MLflowStore)


def new_run(run_id: str = "r1", experiment: str = "e1", **tags: str) -> list[Record]:
    name = f"exp-{experiment}"
    return [
        CreateExperiment(experiment, name, 1),
        CreateRun(run_id, experiment, name, f"run-{run_id}", 10, tags, None),
    ]


def write(store: SQLStore, *records: Record) -> Batch:
    batch = Batch(list(records))
    store.write_batch(batch)
    return batch


# -- experiments -------------------------------------------------------------------------------


def test_experiments_are_created_found_and_listed(store: SQLStore) -> None:
    alpha = store.create_experiment("alpha", "11")
    beta_id = store.create_experiment("beta", "12").experiment_id
    # an MLflow server numbers experiments itself: the ids asked for are not the ids kept
    alpha_id, beta_asked = (alpha.experiment_id, beta_id) if on_mlflow(store) else ("11", "12")
    assert (alpha.experiment_id, alpha.name) == (alpha_id, "alpha")
    assert alpha.artifact_location == store.artifacts.experiment_uri(alpha_id)
    assert store.get_experiment(alpha_id) == alpha
    beta = store.get_experiment_by_name("beta")
    assert beta is not None
    assert beta.experiment_id == beta_asked
    assert store.get_experiment("99") is None
    assert store.get_experiment_by_name("gamma") is None
    assert [e.name for e in store.list_experiments()] == ["alpha", "beta"]
    with pytest.raises(ExperimentExists, match="'alpha'"):
        store.create_experiment("alpha", "13")


def test_an_experiment_created_twice_by_records_is_one(store: SQLStore) -> None:
    write(store, CreateExperiment("5", "five", 1), CreateExperiment("5", "five", 2))
    write(store, CreateExperiment("5", "five", 3))
    if on_mlflow(store):  # the server gives the id and the creation time
        assert [e.name for e in store.list_experiments()] == ["five"]
        return
    assert [(e.experiment_id, e.creation_time) for e in store.list_experiments()] == [("5", 1)]


def test_a_store_says_where_its_data_and_artifacts_are(
    store: SQLStore, artifact_root: Path
) -> None:
    described = store.describe()
    if on_mlflow(store):  # the server keeps the files, behind its artifact proxy: no folder here
        assert described["uri"].startswith("mlflow+http://")
        assert "mlflow-artifacts" in described["artifacts"]
        assert store.artifacts.local_dir("e1", "r1") is None
        with pytest.raises(StoreError, match="not in a local folder"):
            store.artifact_dir("e1", "r1")
        return
    assert described["uri"].startswith(("sqlite:///", "postgresql://"))
    assert described["artifacts"] == str(artifact_root)
    folder = artifact_root / "e1" / "r1" / "artifacts"
    assert store.artifact_dir("e1", "r1") == folder
    assert store.artifact_uri("e1", "r1") == folder.as_uri()
    assert store.artifacts.local_dir("e1", "r1") == folder


# -- runs --------------------------------------------------------------------------------------


def test_runs_are_created_with_their_tags_and_ended(store: SQLStore) -> None:
    write(store, *new_run("r1", team="a"))
    write(
        store,
        CreateRun("r2", "e1", "exp-e1", "child", 20, {}, "r1"),
        SetRunStatus("r1", "FINISHED", 99),
    )
    r1, r2 = store.get_run("r1"), store.get_run("r2")
    assert r1 is not None
    assert r2 is not None
    # an MLflow server numbers experiments itself (the records' "e1" names the experiment there)
    e1 = store.get_experiment("e1")
    assert e1 is not None
    experiment_id = e1.experiment_id if on_mlflow(store) else "e1"
    assert (r1.info.run_name, r1.info.experiment_id, r1.info.status) == (
        "run-r1",
        experiment_id,
        "FINISHED",
    )
    assert (r1.info.start_time, r1.info.end_time) == (10, 99)
    assert r1.data.tags == {"team": "a"}
    assert r1.info.artifact_uri == store.artifact_uri("e1", "r1")
    assert (r2.info.parent_run_id, r2.info.status, r2.info.end_time) == ("r1", "RUNNING", None)
    assert [r.info.run_id for r in store.list_runs(["e1"])] == ["r2", "r1"]  # newest first
    assert store.list_runs([]) == []
    assert store.list_runs(["nope"]) == []
    assert store.get_run("missing") is None


def test_params_keep_their_first_value(store: SQLStore) -> None:
    write(store, *new_run(), LogParam("r1", "k", "1"), LogParam("r1", "k", "2"))
    write(store, LogParam("r1", "k", "3"), LogParam("r1", "j", "x"))
    run = store.get_run("r1")
    assert run is not None
    assert run.data.params == {"k": "1", "j": "x"}


def test_tags_keep_their_last_value(store: SQLStore) -> None:
    write(store, *new_run(t="v"), SetTag("r1", "t", "w"), SetTag("r1", "t", "x"))
    run = store.get_run("r1")
    assert run is not None
    assert run.data.tags == {"t": "x"}
    write(store, SetTag("r1", "t", "y"), SetTag("r1", "u", "z"))
    run = store.get_run("r1")
    assert run is not None
    assert run.data.tags == {"t": "y", "u": "z"}


# -- metrics -----------------------------------------------------------------------------------


def test_metric_history_keeps_every_value_by_step_then_time(store: SQLStore) -> None:
    write(
        store,
        *new_run(),
        LogMetric("r1", "m", 1.0, 1, 100),
        LogMetric("r1", "m", 3.0, 3, 50),
        LogMetric("r1", "m", 33.0, 3, 50),
        LogMetric("r1", "m", 2.0, 2, 999),
    )
    write(store, LogMetric("r1", "m", -1.0, 3, 40), LogMetric("r1", "other", 7.0, 0, 1))
    history = store.get_metric_history("r1", "m")
    assert [(m.value, m.step, m.timestamp) for m in history] == [
        (1.0, 1, 100),
        (2.0, 2, 999),
        (-1.0, 3, 40),
        (3.0, 3, 50),
        (33.0, 3, 50),  # same step and time: in the order logged
    ]
    assert all(m.key == "m" for m in history)
    assert store.get_metric_history("r1", "none") == []


def test_a_batch_of_many_metrics_keeps_each_value_and_its_order(store: SQLStore) -> None:
    """More metrics than one statement takes on SQLite (rows go in groups of powers of two),
    NaN and infinities among them."""
    values = [1.5, math.nan, math.inf, -math.inf, 0.0]
    logged = [
        LogMetric("r1", "m", values[i % 5] + (i if i % 5 == 0 else 0), i, i) for i in range(1_300)
    ]
    write(store, *new_run(), *logged)
    history = store.get_metric_history("r1", "m")
    assert len(history) == 1_300
    for metric, sent in zip(history, logged, strict=True):
        assert (metric.step, metric.timestamp) == (sent.step, sent.timestamp)
        assert metric.value == sent.value or (math.isnan(metric.value) and math.isnan(sent.value))


def test_latest_metric_is_the_highest_step_then_the_latest_timestamp(store: SQLStore) -> None:
    def latest() -> dict[str, float]:
        run = store.get_run("r1")
        assert run is not None
        return dict(run.data.metrics)

    write(store, *new_run(), LogMetric("r1", "m", 5.0, 2, 100), LogMetric("r1", "m", 9.0, 1, 500))
    assert latest() == {"m": 5.0}  # a lower step never wins, however late
    write(store, LogMetric("r1", "m", 6.0, 2, 99))
    assert latest() == {"m": 5.0}  # same step, older
    write(store, LogMetric("r1", "m", 7.0, 2, 100), LogMetric("r1", "m", 8.0, 2, 100))
    assert latest() == {"m": 8.0}  # same step and time: the later record
    write(store, LogMetric("r1", "m", 1.0, 3, 1), LogMetric("r1", "n", 0.5, 0, 1))
    assert latest() == {"m": 1.0, "n": 0.5}


def test_nan_and_infinities_round_trip(store: SQLStore) -> None:
    values = [math.nan, math.inf, -math.inf, -0.0, 1e308]
    write(store, *new_run(), *(LogMetric("r1", "m", v, i, 1) for i, v in enumerate(values)))
    write(store, LogMetric("r1", "nan", math.nan, 0, 1), LogMetric("r1", "inf", -math.inf, 0, 1))
    back = [m.value for m in store.get_metric_history("r1", "m")]
    assert math.isnan(back[0])
    assert back[1:] == values[1:]
    run = store.get_run("r1")
    assert run is not None
    assert math.isnan(run.data.metrics["nan"])
    assert run.data.metrics["inf"] == -math.inf
    assert run.data.metrics["m"] == 1e308


# -- tables ------------------------------------------------------------------------------------


def test_table_rows_append_in_order_and_new_columns_leave_old_rows_empty(store: SQLStore) -> None:
    write(store, *new_run(), AppendRows("r1", "t.csv", [{"a": 1}, {"a": 2}]))
    write(store, AppendRows("r1", "t.csv", [{"b": "x", "a": 3}]))
    write(store, AppendRows("r1", "t.csv", [{"a": 4}]), AppendRows("r1", "t.csv", [{"a": 5}]))
    assert store.read_table("r1", "t.csv") == [
        {"a": 1},
        {"a": 2},
        {"b": "x", "a": 3},
        {"a": 4},
        {"a": 5},
    ]
    assert store.list_tables("r1") == ["t.csv"]
    assert store.read_table("r1", "other.csv") is None
    assert store.read_table("r2", "t.csv") is None
    data = store.artifacts.read_bytes("e1", "r1", "t.csv")
    assert data == b"a,b\n1,\n2,\n3,x\n4,\n5,\n"


def test_each_table_has_its_own_rows_and_file_form(store: SQLStore) -> None:
    write(store, *new_run("r1"), *new_run("r2"))
    for i in range(3):
        write(
            store,
            AppendRows("r1", "t.json", [{"i": i, "x": math.nan}]),
            AppendRows("r2", "t.json", [{"i": -i}]),
            AppendRows("r1", "t.jsonl", [{"i": i}]),
        )
    assert store.list_tables("r1") == ["t.json", "t.jsonl"]
    assert [r["i"] for r in store.read_table("r2", "t.json") or []] == [0, -1, -2]
    rows = store.read_table("r1", "t.json") or []
    assert [r["i"] for r in rows] == [0, 1, 2]
    assert math.isnan(rows[0]["x"])
    json_file = store.artifacts.read_bytes("e1", "r1", "t.json")
    assert json_file == b'{"columns": ["i", "x"], "data": [[0, null],[1, null],[2, null]]}'
    assert store.artifacts.read_bytes("e1", "r1", "t.jsonl") == b'{"i": 0}\n{"i": 1}\n{"i": 2}\n'


def test_text_a_database_cannot_encode_survives_in_table_rows(store: SQLStore) -> None:
    odd = {"nul": "a\x00b", "surrogate": "\ud800", "emoji": "🙂", "quote": "'\"?%s"}
    write(store, *new_run(), AppendRows("r1", "t.jsonl", [odd]))
    assert store.read_table("r1", "t.jsonl") == [odd]


# -- batches -----------------------------------------------------------------------------------


def test_a_batch_applied_twice_is_stored_once(store: SQLStore) -> None:
    batch = write(
        store,
        *new_run(),
        LogMetric("r1", "m", 1.0, 0, 1),
        AppendRows("r1", "t.csv", [{"a": 1}]),
        LogParam("r1", "p", "v"),
    )
    store.write_batch(Batch.from_json(batch.to_json()))  # a journal replayed twice
    assert len(store.get_metric_history("r1", "m")) == 1
    assert store.read_table("r1", "t.csv") == [{"a": 1}]
    assert store.artifacts.read_bytes("e1", "r1", "t.csv") == b"a\n1\n"


def test_a_batch_with_bad_data_writes_nothing_and_is_not_unavailable(store: SQLStore) -> None:
    write(store, *new_run())
    bad = CreateRun("r2", "e1", "exp-e1", None, 1, {}, None)  # type: ignore[arg-type]
    batch = Batch([LogMetric("r1", "m", 1.0, 0, 1), AppendRows("r1", "t.csv", [{"a": 1}]), bad])
    with pytest.raises(Exception, match=r"(?i)null") as info:  # NOT NULL constraint failed
        store.write_batch(batch)
    assert not isinstance(info.value, StoreUnavailable)
    assert store.get_metric_history("r1", "m") == []
    assert store.read_table("r1", "t.csv") is None
    assert store.get_run("r2") is None
    write(store, LogMetric("r1", "m", 1.0, 0, 1))  # the store goes on
    assert len(store.get_metric_history("r1", "m")) == 1


# -- refusals ----------------------------------------------------------------------------------


def test_a_write_the_store_cannot_take_now_is_unavailable(store: SQLStore) -> None:
    if on_mlflow(store):
        pytest.skip(
            "nothing holds an MLflow server's writes while its reads go on; a server that is "
            "down is tested in tests/stores/mlflow"
        )
    write(store, *new_run())
    holder = hold_writes(store)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            write(store, LogMetric("r1", "m", 1.0, 0, 1), AppendRows("r1", "t.csv", [{"a": 1}]))
        assert time.monotonic() - started < 10  # it gave up after its lock timeout
        run = store.get_run("r1")  # reads go on meanwhile
        assert run is not None
    finally:
        holder.release()
    write(store, LogMetric("r1", "m", 1.0, 0, 1))
    assert len(store.get_metric_history("r1", "m")) == 1


def test_schema_version_is_recorded_and_a_newer_store_is_refused(
    store: SQLStore, tracking_uri: str
) -> None:
    if on_mlflow(store):
        pytest.skip("tracklm keeps no schema of its own on an MLflow server")
    store.list_experiments()
    if isinstance(store, SQLiteStore):
        conn = sqlite3.connect(store.db_path, isolation_level=None)
        assert conn.execute("SELECT version FROM tracklm_schema").fetchall() == [(SCHEMA_VERSION,)]
        conn.execute("UPDATE tracklm_schema SET version = 99")
        conn.close()
    else:
        assert isinstance(store, PostgresStore)
        url = _postgres.server_url()
        assert url is not None
        with _postgres.admin(url) as conn:
            table = f'"{store.schema}".tracklm_schema'
            assert conn.execute(f"SELECT version FROM {table}").fetchall() == [(SCHEMA_VERSION,)]
            conn.execute(f"UPDATE {table} SET version = 99")
    with pytest.raises(StoreError, match=r"newer tracklm \(schema 99"):
        open_store(tracking_uri).list_experiments()


OPEN_AT_ONCE = """
import sys, time
from tracklm.stores import open_store
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
print(len(open_store(sys.argv[2]).list_experiments()))
"""


def test_first_openers_at_the_same_time_make_the_schema_once(
    tracking_uri: str, artifact_root: Path
) -> None:
    import subprocess
    import sys

    start = time.time() + 2
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, str(start), tracking_uri],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "0"
    store = open_store(tracking_uri)
    write(store, *new_run())  # type: ignore[arg-type]
    assert [e.name for e in store.list_experiments()] == ["exp-e1"]


def test_a_forked_child_uses_its_own_connection(store: SQLStore) -> None:
    write(store, *new_run())
    assert store.get_run("r1") is not None  # this thread's connection is open
    pid = os.fork()
    if pid == 0:  # the child: write, then leave without running any cleanup
        code = 1
        try:
            write(store, LogMetric("r1", "child", 1.0, 0, 1))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    write(store, LogMetric("r1", "parent", 2.0, 0, 1))  # the parent's connection still works
    run = store.get_run("r1")
    assert run is not None
    assert run.data.metrics == {"child": 1.0, "parent": 2.0}
