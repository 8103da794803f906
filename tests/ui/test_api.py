"""The JSON endpoints of the charts: histories thinned on the server, ranges in detail."""

from __future__ import annotations

from starlette.testclient import TestClient

from ._data import BIG_METRIC_POINTS, RealisticStore


def test_a_long_history_reaches_the_chart_thinned_with_its_peak(big_client: TestClient) -> None:
    data = big_client.get("/api/runs/big-run/metrics/latency_ms").json()
    assert data["key"] == "latency_ms"
    assert data["total"] == BIG_METRIC_POINTS
    assert 100 < len(data["value"]) <= 1000
    assert len(data["step"]) == len(data["time"]) == len(data["value"])
    assert max(data["value"]) == 5000.0
    assert data["step"] == sorted(data["step"])
    assert (data["step"][0], data["step"][-1]) == (0, BIG_METRIC_POINTS - 1)
    assert data["time"][0] == 1_767_225_600.0  # seconds, for the time axis


def test_a_range_of_steps_comes_in_detail(big_client: TestClient) -> None:
    data = big_client.get(
        "/api/runs/big-run/metrics/latency_ms", params={"min_step": 49_990, "max_step": 50_009}
    ).json()
    assert data["step"] == list(range(49_990, 50_010))
    assert data["total"] == 20
    few = big_client.get("/api/runs/big-run/metrics/latency_ms", params={"points": 40}).json()
    assert len(few["value"]) <= 40


def test_bad_arguments_and_unknown_runs_are_json_errors(big_client: TestClient) -> None:
    bad = big_client.get("/api/runs/big-run/metrics/latency_ms", params={"min_step": "x"})
    assert bad.status_code == 400
    assert "whole number" in bad.json()["error"]
    unknown = big_client.get("/api/runs/nope/metrics/latency_ms")
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["error"]
    empty = big_client.get("/api/runs/big-run/metrics/never_logged").json()
    assert (empty["total"], empty["value"]) == (0, [])


def test_compared_runs_come_as_one_series_each(
    realistic_client: TestClient, realistic: RealisticStore
) -> None:
    ids = [realistic.run_ids["prompt-v1"], realistic.run_ids["prompt-v3"]]
    data = realistic_client.get("/api/compare/metrics/eval_score", params={"run": ids}).json()
    assert [r["id"] for r in data["runs"]] == ids
    assert [r["total"] for r in data["runs"]] == [300, 300]
    assert data["runs"][0]["value"] != data["runs"][1]["value"]
    unknown = realistic_client.get("/api/compare/metrics/eval_score", params={"run": "nope"})
    assert unknown.status_code == 404
