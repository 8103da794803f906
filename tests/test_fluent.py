"""Round trips of the fluent API (tracklm.start_run, log_*, set_*) through a real store."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

import tracklm
from tracklm import RunStatus


def client() -> tracklm.TracklmClient:
    return tracklm.TracklmClient(tracklm.get_tracking_uri())


# -- public names --------------------------------------------------------------------------


def test_exported_members_are_pinned_and_sorted() -> None:
    """Adding or removing a public name must be a deliberate change of this list."""
    assert tracklm.__all__ == [
        "ActiveRun", "CallRecord", "Experiment", "ExperimentExists", "ExperimentNotFound",
        "FlushResult", "InvalidArtifactPath", "InvalidFilter", "InvalidKey", "InvalidTrackingUri",
        "InvalidValue", "Metric", "NoActiveRun", "ParamOverwrite", "Run", "RunAlreadyActive",
        "RunData", "RunInfo", "RunNotFound", "RunStatus", "StoreError", "TableNotFound",
        "TracklmClient", "TracklmError", "__version__", "active_run", "autolog",
        "autolog_disabled", "carry_context", "end_run", "flush", "get_run", "get_tracking_uri",
        "load_table", "log_artifact", "log_dict", "log_metric", "log_metrics", "log_param",
        "log_params", "log_table", "log_text", "no_autolog", "search_runs", "set_experiment",
        "set_tag", "set_tags", "set_tracking_uri", "start_run",
    ]  # fmt: skip
    assert tracklm.__all__ == sorted(tracklm.__all__)


def test_every_exported_member_exists_and_says_tracklm_as_its_module() -> None:
    for name in tracklm.__all__:
        member = getattr(tracklm, name)
        if name != "__version__":
            assert member.__module__ == "tracklm", name


def test_import_tracklm_does_not_import_pandas() -> None:
    code = "import sys, tracklm; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    modules = set(json.loads(out))
    assert "tracklm" in modules
    assert "pandas" not in modules
    assert "numpy" not in modules


# -- experiments ---------------------------------------------------------------------------


def test_default_experiment_is_named_default_with_id_0() -> None:
    with tracklm.start_run() as run:
        pass
    assert run.info.experiment_id == "0"
    assert client().get_experiment("0").name == "Default"


def test_set_experiment_creates_it_and_later_runs_go_into_it() -> None:
    experiment = tracklm.set_experiment("support-bot")
    assert experiment.name == "support-bot"
    assert experiment.experiment_id != "0"
    with tracklm.start_run() as run:
        pass
    assert run.info.experiment_id == experiment.experiment_id
    assert tracklm.set_experiment("support-bot").experiment_id == experiment.experiment_id
    found = client().get_experiment_by_name("support-bot")
    assert found is not None
    assert found.experiment_id == experiment.experiment_id


def test_experiment_name_comes_from_env_when_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKLM_EXPERIMENT_NAME", "from-env")
    with tracklm.start_run() as run:
        pass
    assert client().get_experiment(run.info.experiment_id).name == "from-env"
    tracklm.set_experiment("from-code")
    with tracklm.start_run() as run2:
        pass
    assert client().get_experiment(run2.info.experiment_id).name == "from-code"


# -- run lifecycle -------------------------------------------------------------------------


def test_run_used_as_context_manager_ends_finished_with_an_end_time() -> None:
    with tracklm.start_run(run_name="baseline", tags={"team": "search", "n": 3}) as run:
        assert tracklm.active_run() is run
        assert run.info.status == RunStatus.RUNNING
    assert tracklm.active_run() is None
    stored = tracklm.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.run_name == "baseline"
    assert stored.info.end_time is not None
    assert stored.info.end_time >= stored.info.start_time
    assert stored.data.tags == {"team": "search", "n": "3"}


def test_run_without_a_name_gets_a_generated_one() -> None:
    with tracklm.start_run() as run:
        pass
    name = tracklm.get_run(run.info.run_id).info.run_name
    assert name == run.info.run_name
    assert len(name.split("-")) == 3


def test_exception_inside_the_run_ends_it_failed_and_is_reraised() -> None:
    with pytest.raises(ZeroDivisionError), tracklm.start_run() as run:
        _ = 1 / 0
    assert tracklm.get_run(run.info.run_id).info.status == "FAILED"
    assert tracklm.active_run() is None


def test_keyboard_interrupt_inside_the_run_ends_it_killed() -> None:
    with pytest.raises(KeyboardInterrupt), tracklm.start_run() as run:
        raise KeyboardInterrupt
    assert tracklm.get_run(run.info.run_id).info.status == "KILLED"


def test_nested_run_records_its_parent_and_restores_it_on_exit() -> None:
    with tracklm.start_run() as parent:
        with tracklm.start_run(nested=True) as child:
            assert tracklm.active_run() is child
        assert tracklm.active_run() is parent
    stored = tracklm.get_run(child.info.run_id)
    assert stored.info.parent_run_id == parent.info.run_id
    assert stored.data.tags["tracklm.parentRunId"] == parent.info.run_id
    assert tracklm.get_run(parent.info.run_id).info.parent_run_id is None


def test_start_run_while_one_is_active_without_nested_raises() -> None:
    with tracklm.start_run() as run:
        with pytest.raises(tracklm.RunAlreadyActive, match=run.info.run_id):
            tracklm.start_run()
        assert tracklm.active_run() is run


def test_end_run_ends_the_active_run_with_the_given_status() -> None:
    run = tracklm.start_run()
    tracklm.end_run("KILLED")
    assert tracklm.active_run() is None
    assert tracklm.get_run(run.info.run_id).info.status == "KILLED"
    tracklm.end_run()  # nothing active: nothing happens


def test_end_run_with_an_unknown_status_raises_and_keeps_the_run_active() -> None:
    run = tracklm.start_run()
    with pytest.raises(tracklm.InvalidValue, match="DONE"):
        tracklm.end_run("DONE")
    assert tracklm.active_run() is run
    tracklm.end_run()
    assert tracklm.get_run(run.info.run_id).info.status == "FINISHED"


def test_resuming_a_run_by_id_makes_it_running_and_keeps_its_data() -> None:
    with tracklm.start_run() as first:
        tracklm.log_param("model", "m1")
    with tracklm.start_run(run_id=first.info.run_id) as resumed:
        assert resumed.info.run_id == first.info.run_id
        assert resumed.info.status == "RUNNING"
        assert tracklm.get_run(first.info.run_id).info.status == "RUNNING"
        tracklm.log_metric("acc", 0.5)
        with pytest.raises(tracklm.ParamOverwrite):
            tracklm.log_param("model", "m2")
    stored = tracklm.get_run(first.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params == {"model": "m1"}
    assert stored.data.metrics == {"acc": 0.5}


def test_logging_without_an_active_run_raises_no_active_run() -> None:
    for call in (
        lambda: tracklm.log_param("a", 1),
        lambda: tracklm.log_metric("a", 1.0),
        lambda: tracklm.set_tag("a", "b"),
        lambda: tracklm.log_table({"a": [1]}, "t.csv"),
        lambda: tracklm.log_text("x", "x.txt"),
    ):
        with pytest.raises(tracklm.NoActiveRun, match="start_run"):
            call()


# -- params, metrics, tags -----------------------------------------------------------------


def test_params_are_stored_as_strings() -> None:
    with tracklm.start_run() as run:
        assert tracklm.log_param("temperature", 0.2) == 0.2
        tracklm.log_params({"top_k": 40, "stop": None, "model": "gpt", "flag": True})
    assert tracklm.get_run(run.info.run_id).data.params == {
        "temperature": "0.2",
        "top_k": "40",
        "stop": "None",
        "model": "gpt",
        "flag": "True",
    }


def test_metric_history_keeps_every_value_with_step_and_timestamp() -> None:
    with tracklm.start_run() as run:
        tracklm.log_metric("loss", 3.0, step=2, timestamp=1_000)
        tracklm.log_metric("loss", 1.0, step=0, timestamp=3_000)
        tracklm.log_metric("loss", 2.0, step=1, timestamp=2_000)
        tracklm.log_metric("tokens", 7)
    history = client().get_metric_history(run.info.run_id, "loss")
    assert [(m.key, m.value, m.step, m.timestamp) for m in history] == [
        ("loss", 1.0, 0, 3_000),
        ("loss", 2.0, 1, 2_000),
        ("loss", 3.0, 2, 1_000),
    ]
    (tokens,) = client().get_metric_history(run.info.run_id, "tokens")
    assert (tokens.value, tokens.step) == (7.0, 0)
    assert abs(tokens.timestamp - run.info.start_time) < 60_000


def test_latest_metric_value_is_the_highest_step_then_the_latest_timestamp() -> None:
    with tracklm.start_run() as run:
        tracklm.log_metric("m", 5.0, step=5, timestamp=100)
        tracklm.flush()
        tracklm.log_metric("m", 3.0, step=3, timestamp=900)  # lower step, later: not latest
        tracklm.log_metric("m", 4.0, step=5, timestamp=50)  # same step, earlier: not latest
        tracklm.flush()
        assert tracklm.get_run(run.info.run_id).data.metrics["m"] == 5.0
        tracklm.log_metric("m", 6.0, step=5, timestamp=150)  # same step, later: latest
    assert tracklm.get_run(run.info.run_id).data.metrics["m"] == 6.0


def test_log_metrics_logs_each_value_at_one_step() -> None:
    with tracklm.start_run() as run:
        tracklm.log_metrics({"a": 1.0, "b": 2}, step=4)
    c = client()
    assert [(m.value, m.step) for m in c.get_metric_history(run.info.run_id, "a")] == [(1.0, 4)]
    assert [(m.value, m.step) for m in c.get_metric_history(run.info.run_id, "b")] == [(2.0, 4)]


def test_nan_and_infinities_are_stored_and_read_back() -> None:
    with tracklm.start_run() as run:
        tracklm.log_metrics({"nan": math.nan, "inf": math.inf, "ninf": -math.inf})
    metrics = tracklm.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == math.inf
    assert metrics["ninf"] == -math.inf
    (nan,) = client().get_metric_history(run.info.run_id, "nan")
    assert math.isnan(nan.value)


def test_tags_are_strings_and_a_later_value_wins() -> None:
    with tracklm.start_run(tags={"stage": "dev"}) as run:
        tracklm.set_tag("stage", "staging")
        tracklm.set_tags({"stage": "prod", "version": 2})
    assert tracklm.get_run(run.info.run_id).data.tags == {"stage": "prod", "version": "2"}


def test_flush_counts_every_record_written() -> None:
    tracklm.set_experiment("counted")  # 1 record: the experiment
    with tracklm.start_run():  # 2: the run, and its end status
        tracklm.log_param("p", 1)
        tracklm.log_metric("m", 1.0)
        tracklm.set_tag("t", "v")
    result = tracklm.flush(timeout=10)
    assert (result.written, result.pending, result.dropped) == (6, 0, 0)
    assert result.ok


# -- context -------------------------------------------------------------------------------


def test_threads_see_no_active_run_unless_the_context_is_carried() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def log(i: int) -> str | None:
        active = tracklm.active_run()
        if active is not None:
            tracklm.log_metric("from_thread", float(i), step=i)
        return active.info.run_id if active is not None else None

    with tracklm.start_run() as run, ThreadPoolExecutor(2) as pool:
        assert list(pool.map(log, range(2))) == [None, None]
        carried = list(pool.map(tracklm.carry_context(log), range(3)))
    assert carried == [run.info.run_id] * 3
    history = client().get_metric_history(run.info.run_id, "from_thread")
    assert [m.step for m in history] == [0, 1, 2]
