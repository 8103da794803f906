"""tracklm.search_runs: MLflow's DataFrame shape, filters, ordering and experiment selection."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

import tracklm

BASE = ["run_id", "experiment_id", "run_name", "status", "start_time", "end_time", "artifact_uri"]


@pytest.fixture
def runs() -> dict[str, str]:
    """Four runs of experiment "search": run name -> run id."""
    tracklm.set_experiment("search")
    specs = [
        ("fast", "gpt-4o-mini", 120.0, "prod", "FINISHED"),
        ("medium", "gpt-4o", 450.0, "dev", "FINISHED"),
        ("slow", "gpt-4o", 900.0, "prod", "FAILED"),
        ("odd", "claude-3", math.nan, "dev", "RUNNING"),
    ]
    ids = {}
    for name, model, latency, stage, status in specs:
        run = tracklm.start_run(run_name=name, tags={"stage": stage})
        tracklm.log_param("model", model)
        tracklm.log_metric("latency_ms", latency)
        if status != "RUNNING":
            tracklm.end_run(status)
        else:
            tracklm.end_run()
            tracklm.TracklmClient(tracklm.get_tracking_uri()).update_run_status(
                run.info.run_id, "RUNNING"
            )
        ids[name] = run.info.run_id
    return ids


def names(frame: pd.DataFrame) -> list[str]:
    return list(frame["run_name"])


def test_frame_has_mlflow_columns_and_types(runs: dict[str, str]) -> None:
    frame = tracklm.search_runs(order_by=["attributes.run_name"])
    assert list(frame.columns) == [*BASE, "params.model", "metrics.latency_ms", "tags.stage"]
    assert names(frame) == ["fast", "medium", "odd", "slow"]
    for column in ("start_time", "end_time"):
        assert isinstance(frame[column].dtype, pd.DatetimeTZDtype)
        assert str(frame[column].dt.tz) == "UTC"
    fast = frame.iloc[0]
    stored = tracklm.get_run(runs["fast"])
    assert fast["run_id"] == runs["fast"]
    assert fast["experiment_id"] == stored.info.experiment_id
    assert fast["status"] == "FINISHED"
    assert fast["start_time"] == pd.Timestamp(stored.info.start_time, unit="ms", tz="UTC")
    assert fast["end_time"] == pd.Timestamp(stored.info.end_time, unit="ms", tz="UTC")
    assert abs(fast["start_time"] - pd.Timestamp.now(tz="UTC")) < dt.timedelta(minutes=5)
    assert fast["artifact_uri"] == stored.info.artifact_uri
    assert fast["artifact_uri"].startswith("file://")
    assert fast["params.model"] == "gpt-4o-mini"
    assert fast["tags.stage"] == "prod"
    assert frame["metrics.latency_ms"].dtype == "float64"
    assert fast["metrics.latency_ms"] == 120.0
    assert math.isnan(frame.iloc[2]["metrics.latency_ms"])
    assert pd.isna(frame.iloc[2]["end_time"])  # still running


def test_runs_missing_a_key_have_empty_cells(runs: dict[str, str]) -> None:
    with tracklm.start_run(run_name="bare"):
        tracklm.set_tag("only_here", "1")
    frame = tracklm.search_runs(order_by="run_name")
    assert names(frame)[0] == "bare"
    assert pd.isna(frame.iloc[0]["params.model"])
    assert pd.isna(frame.iloc[0]["metrics.latency_ms"])
    assert frame["tags.only_here"].isna().sum() == 4


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.latency_ms = 450", ["medium"]),
        ("metrics.latency_ms != 450", ["fast", "odd", "slow"]),  # NaN only matches !=
        ("metrics.latency_ms < 450", ["fast"]),
        ("metrics.latency_ms <= 450", ["fast", "medium"]),
        ("metrics.latency_ms > 450", ["slow"]),
        ("metrics.latency_ms >= 120", ["fast", "medium", "slow"]),
        ("params.model = 'gpt-4o'", ["medium", "slow"]),
        ("params.model != 'gpt-4o'", ["fast", "odd"]),
        ("params.model LIKE 'gpt%'", ["fast", "medium", "slow"]),
        ("params.model LIKE 'GPT%'", []),
        ("params.model ILIKE 'GPT%'", ["fast", "medium", "slow"]),
        ("params.model LIKE '%-mini'", ["fast"]),
        ("tags.stage = 'prod'", ["fast", "slow"]),
        ("tags.stage != 'prod'", ["medium", "odd"]),
        ("attributes.status = 'FAILED'", ["slow"]),
        ("attributes.status != 'FINISHED'", ["odd", "slow"]),
        ("attributes.run_name LIKE '%o%'", ["odd", "slow"]),
        ("attributes.start_time > 0", ["fast", "medium", "odd", "slow"]),
        ("attributes.start_time < 0", []),
        ("params.missing = 'x'", []),
        ("params.model = 'gpt-4o' and metrics.latency_ms < 500", ["medium"]),
        (
            "tags.stage = 'prod' AND params.model LIKE 'gpt-4o%' AND metrics.latency_ms > 100",
            ["fast", "slow"],
        ),
    ],
)
def test_filter_string_selects_runs(
    runs: dict[str, str], filter_string: str, expected: list[str]
) -> None:
    frame = tracklm.search_runs(filter_string=filter_string, order_by="attributes.run_name")
    assert names(frame) == expected


def test_filter_on_run_id(runs: dict[str, str]) -> None:
    frame = tracklm.search_runs(filter_string=f"attributes.run_id = '{runs['slow']}'")
    assert names(frame) == ["slow"]


def test_order_by_metric_desc_and_max_results(runs: dict[str, str]) -> None:
    frame = tracklm.search_runs(order_by=["metrics.latency_ms DESC"])
    assert names(frame) == ["slow", "medium", "fast", "odd"]  # NaN after numbers
    assert names(tracklm.search_runs(order_by="metrics.latency_ms ASC")) == [
        "fast",
        "medium",
        "slow",
        "odd",
    ]
    top = tracklm.search_runs(order_by=["metrics.latency_ms DESC"], max_results=2)
    assert names(top) == ["slow", "medium"]
    assert len(tracklm.search_runs(max_results=0)) == 0


def test_default_order_is_newest_first(runs: dict[str, str]) -> None:
    frame = tracklm.search_runs()
    assert list(frame["start_time"]) == sorted(frame["start_time"], reverse=True)
    assert sorted(frame["run_id"]) == sorted(runs.values())


def test_order_by_tag_then_param(runs: dict[str, str]) -> None:
    frame = tracklm.search_runs(order_by=["tags.stage DESC", "params.model"])
    assert names(frame) == ["slow", "fast", "odd", "medium"]


def test_experiment_names_select_several_experiments(runs: dict[str, str]) -> None:
    tracklm.set_experiment("other")
    with tracklm.start_run(run_name="elsewhere"):
        tracklm.log_metric("latency_ms", 10.0)
    assert names(tracklm.search_runs()) == ["elsewhere"]  # the current experiment only
    both = tracklm.search_runs(experiment_names=["search", "other"], order_by="run_name")
    assert names(both) == ["elsewhere", "fast", "medium", "odd", "slow"]
    assert both["experiment_id"].nunique() == 2
    assert len(tracklm.search_runs(experiment_names=["no-such-experiment"])) == 0
    by_id = tracklm.search_runs(
        experiment_ids=[tracklm.set_experiment("search").experiment_id], order_by="run_name"
    )
    assert names(by_id) == ["fast", "medium", "odd", "slow"]


@pytest.mark.parametrize(
    ("bad", "token"),
    [
        ("metrics.latency_ms >> 5", "'>>'"),
        ("metrics.latency_ms < 'fast'", "'fast'"),
        ("params.model < 'a'", "'<'"),
        ("foo.bar = 1", "'foo'"),
        ("metrics.a = 1 or metrics.b = 2", "OR"),
        ("metrics.a = 1 and", "end of input"),
        ("latency_ms > 5", "'latency_ms'"),
        ("attributes.colour = 'red'", "'colour'"),
        ("params.model = 'unterminated", "unterminated"),
        ("metrics.a = 1 ; drop", "';'"),
    ],
)
def test_bad_filter_raises_invalid_filter_naming_the_token(
    runs: dict[str, str], bad: str, token: str
) -> None:
    with pytest.raises(tracklm.InvalidFilter) as info:
        tracklm.search_runs(filter_string=bad)
    assert token in str(info.value)
    assert isinstance(info.value, tracklm.TracklmError)


def test_bad_order_by_raises_invalid_filter(runs: dict[str, str]) -> None:
    with pytest.raises(tracklm.InvalidFilter, match="'SIDEWAYS'"):
        tracklm.search_runs(order_by=["metrics.latency_ms SIDEWAYS"])


def test_empty_result_has_the_base_columns() -> None:
    frame = tracklm.search_runs(experiment_names=["never-created"])
    assert list(frame.columns) == BASE
    assert len(frame) == 0
    tracklm.set_experiment("empty")
    assert list(tracklm.search_runs(filter_string="metrics.x > 1").columns) == BASE
