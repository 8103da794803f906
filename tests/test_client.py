"""TracklmClient: every operation on explicit experiment and run ids."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tracklm
from tracklm import TracklmClient


@pytest.fixture
def client() -> TracklmClient:
    return TracklmClient(tracklm.get_tracking_uri())


@pytest.mark.sqlite_only
def test_client_without_a_uri_uses_the_uri_set_by_set_tracking_uri(store_dir: Path) -> None:
    assert TracklmClient().tracking_uri == f"sqlite:///{store_dir / 'tracklm.db'}"
    assert TracklmClient().tracking_uri == tracklm.get_tracking_uri()


# -- experiments ---------------------------------------------------------------------------


def test_create_experiment_returns_an_id_that_reads_back(client: TracklmClient) -> None:
    experiment_id = client.create_experiment("prompts")
    experiment = client.get_experiment(experiment_id)
    assert (experiment.experiment_id, experiment.name) == (experiment_id, "prompts")
    assert experiment.creation_time is not None
    by_name = client.get_experiment_by_name("prompts")
    assert by_name == experiment
    assert client.get_experiment_by_name("nope") is None


def test_create_experiment_with_a_taken_name_raises_experiment_exists(
    client: TracklmClient,
) -> None:
    client.create_experiment("dup")
    with pytest.raises(tracklm.ExperimentExists, match="'dup'"):
        client.create_experiment("dup")


def test_create_experiment_after_set_experiment_of_that_name_raises(
    client: TracklmClient,
) -> None:
    """set_experiment creates the experiment, even if its write is still queued."""
    tracklm.set_experiment("made-by-fluent")
    with pytest.raises(tracklm.ExperimentExists, match="made-by-fluent"):
        client.create_experiment("made-by-fluent")


def test_list_experiments_holds_each_experiment_once_oldest_first(
    client: TracklmClient,
) -> None:
    a = client.create_experiment("a")
    b = client.create_experiment("b")
    with tracklm.start_run():
        pass  # creates "Default"
    experiments = client.list_experiments()
    assert sorted(e.experiment_id for e in experiments) == sorted([a, b, "0"])
    times = [e.creation_time for e in experiments]
    assert times == sorted(times)  # type: ignore[type-var]
    assert [e.name for e in experiments].index("a") < [e.name for e in experiments].index("b")


def test_get_experiment_of_an_unknown_id_raises_experiment_not_found(
    client: TracklmClient,
) -> None:
    with pytest.raises(tracklm.ExperimentNotFound, match="'12345'"):
        client.get_experiment("12345")
    with pytest.raises(tracklm.ExperimentNotFound, match="'12345'"):
        client.create_run("12345")


@pytest.mark.parametrize("name", ["", "   ", 7, "x" * 251])
def test_create_experiment_with_a_bad_name_raises_invalid_value(
    client: TracklmClient, name: object
) -> None:
    with pytest.raises(tracklm.InvalidValue, match="experiment name"):
        client.create_experiment(name)  # type: ignore[arg-type]


# -- runs ----------------------------------------------------------------------------------


def test_create_run_and_set_terminated(client: TracklmClient) -> None:
    experiment_id = client.create_experiment("e")
    run = client.create_run(experiment_id, run_name="r1", tags={"k": 1}, start_time=1_000)
    assert run.info.status == "RUNNING"
    assert run.info.start_time == 1_000
    stored = client.get_run(run.info.run_id)
    assert (stored.info.run_name, stored.info.status, stored.info.experiment_id) == (
        "r1",
        "RUNNING",
        experiment_id,
    )
    assert stored.data.tags == {"k": "1"}
    assert stored.info.end_time is None
    client.set_terminated(run.info.run_id, "FAILED", end_time=5_000)
    stored = client.get_run(run.info.run_id)
    assert (stored.info.status, stored.info.end_time) == ("FAILED", 5_000)


def test_set_terminated_with_an_unknown_status_raises(client: TracklmClient) -> None:
    run = client.create_run(client.create_experiment("e"))
    with pytest.raises(tracklm.InvalidValue, match="'DONE'"):
        client.set_terminated(run.info.run_id, "DONE")


def test_get_run_of_an_unknown_id_raises_run_not_found(client: TracklmClient) -> None:
    with pytest.raises(tracklm.RunNotFound, match="'no-such-run'"):
        client.get_run("no-such-run")


@pytest.mark.parametrize(
    "log",
    [
        lambda c: c.log_param("no-such-run", "k", "v"),
        lambda c: c.log_metric("no-such-run", "k", 1.0),
        lambda c: c.set_tag("no-such-run", "k", "v"),
        lambda c: c.log_batch("no-such-run", metrics={"k": 1.0}),
        lambda c: c.log_table("no-such-run", {"a": [1]}, "t.csv"),
        lambda c: c.log_text("no-such-run", "x", "x.txt"),
        lambda c: c.set_terminated("no-such-run"),
    ],
    ids=["param", "metric", "tag", "batch", "table", "text", "terminate"],
)
def test_logging_into_an_unknown_run_raises_run_not_found(client: TracklmClient, log) -> None:  # type: ignore[no-untyped-def]
    """Otherwise the data would be written for a run nobody can ever read."""
    with pytest.raises(tracklm.RunNotFound, match="'no-such-run'"):
        log(client)


def test_log_batch_logs_metrics_params_and_tags(client: TracklmClient) -> None:
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    client.log_batch(
        run_id,
        metrics={"acc": 0.9, "n": 3},
        params={"model": "m", "t": 0.5},
        tags={"team": "x"},
        step=2,
    )
    data = client.get_run(run_id).data
    assert data.metrics == {"acc": 0.9, "n": 3.0}
    assert data.params == {"model": "m", "t": "0.5"}
    assert data.tags == {"team": "x"}
    assert [(m.value, m.step) for m in client.get_metric_history(run_id, "acc")] == [(0.9, 2)]


def test_log_batch_checks_everything_before_logging_anything(client: TracklmClient) -> None:
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    with pytest.raises(tracklm.InvalidKey, match="bad!"):
        client.log_batch(run_id, metrics={"good": 1.0}, params={"p": 1}, tags={"bad!": "v"})
    data = client.get_run(run_id).data
    assert (dict(data.metrics), dict(data.params), dict(data.tags)) == ({}, {}, {})


def test_search_runs_returns_run_objects_of_the_given_experiments(
    client: TracklmClient,
) -> None:
    e1, e2, e3 = (client.create_experiment(n) for n in ("e1", "e2", "e3"))
    runs = {}
    for experiment_id, name, latency in (
        (e1, "a", 100.0),
        (e1, "b", 300.0),
        (e2, "c", 200.0),
        (e3, "d", 50.0),
    ):
        run = client.create_run(experiment_id, run_name=name)
        client.log_metric(run.info.run_id, "latency_ms", latency)
        client.log_param(run.info.run_id, "model", f"model-{name}")
        runs[name] = run.info.run_id
    found = client.search_runs([e1, e2], order_by=["metrics.latency_ms DESC"])
    assert all(isinstance(r, tracklm.Run) for r in found)
    assert [r.info.run_name for r in found] == ["b", "c", "a"]
    assert found[0].data.metrics == {"latency_ms": 300.0}
    assert found[0].data.params == {"model": "model-b"}
    slow = client.search_runs([e1, e2, e3], "metrics.latency_ms >= 200")
    assert sorted(r.info.run_id for r in slow) == sorted([runs["b"], runs["c"]])
    assert (
        client.search_runs([e1], max_results=1, order_by="metrics.latency_ms")[0].info.run_id
        == runs["a"]
    )
    assert client.search_runs([]) == []


# -- params across clients and processes ---------------------------------------------------


def test_param_overwrite_is_refused_from_another_client_of_the_store(
    client: TracklmClient,
) -> None:
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    client.log_param(run_id, "model", "m1")
    uri = tracklm.get_tracking_uri()
    with pytest.raises(tracklm.ParamOverwrite, match="'m1'"):
        TracklmClient(uri).log_param(run_id, "model", "m2")
    TracklmClient(uri).log_param(run_id, "model", "m1")  # same value: fine
    assert client.get_run(run_id).data.params == {"model": "m1"}


def test_param_overwrite_message_says_what_to_do_instead(client: TracklmClient) -> None:
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    client.log_param(run_id, "temperature", 0.2)
    client.log_param(run_id, "temperature", "0.2")  # the same string: fine
    with pytest.raises(tracklm.ParamOverwrite) as info:
        client.log_param(run_id, "temperature", 0.7)
    message = str(info.value)
    assert "'temperature'" in message
    assert "'0.2'" in message
    assert "'0.7'" in message
    assert "new run" in message
    assert isinstance(info.value, tracklm.TracklmError)


def test_log_batch_with_a_param_overwrite_logs_nothing(client: TracklmClient) -> None:
    run_id = client.create_run(client.create_experiment("e")).info.run_id
    client.log_param(run_id, "model", "m1")
    with pytest.raises(tracklm.ParamOverwrite):
        client.log_batch(run_id, metrics={"acc": 1.0}, params={"a": 1, "model": "m2"})
    with pytest.raises(tracklm.InvalidValue, match="step"):
        client.log_batch(run_id, metrics={"acc": 1.0}, params={"b": 1}, step="one")  # type: ignore[arg-type]
    data = client.get_run(run_id).data
    assert (dict(data.params), dict(data.metrics)) == ({"model": "m1"}, {})


@pytest.mark.sqlite_only
def test_two_clients_of_one_store_see_each_others_data(store_dir: Path) -> None:
    """The same store named three ways, and one more client in another process."""
    a = TracklmClient(str(store_dir))
    b = TracklmClient(store_dir.as_uri())
    c = TracklmClient(f"sqlite:///{store_dir / 'tracklm.db'}")
    assert a.tracking_uri == b.tracking_uri == c.tracking_uri
    run_id = a.create_run(a.create_experiment("shared")).info.run_id
    b.log_metric(run_id, "acc", 0.5)
    c.set_tag(run_id, "by", "c")
    assert a.get_run(run_id).data.metrics == {"acc": 0.5}
    assert a.get_run(run_id).data.tags == {"by": "c"}

    script = textwrap.dedent(f"""
        import sys, tracklm
        client = tracklm.TracklmClient({str(store_dir)!r})
        run = client.get_run({run_id!r})
        client.log_param(run.info.run_id, "from_child", "yes")
        client.set_terminated(run.info.run_id, "FINISHED")
        result = client.flush(10)
        print(run.data.metrics["acc"], run.data.tags["by"], result.ok)
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    assert out.split() == ["0.5", "c", "True"]
    stored = a.get_run(run_id)
    assert stored.data.params == {"from_child": "yes"}
    assert stored.info.status == "FINISHED"
