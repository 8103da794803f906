"""The tracklm command reads what was logged, for people and for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest

import tracklm
from tracklm.cli import main


@pytest.fixture
def logged_run() -> str:
    tracklm.set_experiment("cli")
    with tracklm.start_run(run_name="cli-run", tags={"team": "search"}) as run:
        tracklm.log_params({"model": "m1", "temperature": 0.5})
        tracklm.log_metric("latency_ms", 120.0, step=0)
        tracklm.log_metric("latency_ms", 80.0, step=1)
        tracklm.log_table(
            {"inputs": ["hi", "=1+1"], "outputs": ["hello\nthere", "-2"]}, "predictions.csv"
        )
        tracklm.log_text("notes", "notes.txt")
    tracklm.flush()
    return run.info.run_id


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["--tracking-uri", tracklm.get_tracking_uri(), *args]) == 0
    return capsys.readouterr().out


def test_experiments_lists_names_and_run_counts(
    logged_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(capsys, "experiments")
    line = next(line for line in out.splitlines() if " cli " in f" {line} ")
    assert line.split()[1:3] == ["cli", "1"]
    rows = json.loads(_run(capsys, "experiments", "--json"))
    assert [(r["name"], r["runs"]) for r in rows] == [("cli", 1)]


def test_runs_lists_the_runs_of_an_experiment(
    logged_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert logged_run in _run(capsys, "runs", "--experiment", "cli")
    rows = json.loads(_run(capsys, "runs", "--json", "--filter", "metrics.latency_ms < 100"))
    assert [r["run_id"] for r in rows] == [logged_run]
    assert json.loads(_run(capsys, "runs", "--json", "--filter", "metrics.latency_ms > 100")) == []


def test_runs_of_an_unknown_experiment_is_an_error(
    logged_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = tracklm.get_tracking_uri()
    assert main(["--tracking-uri", uri, "runs", "--experiment", "nope"]) == 1
    assert "no experiment is named 'nope'" in capsys.readouterr().err


def test_show_prints_params_latest_metrics_tags_and_artifacts(
    logged_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(capsys, "show", logged_run)
    for expected in (
        "cli-run",
        "FINISHED",
        "model",
        "m1",
        "latency_ms",
        "80",
        "team",
        "notes.txt",
        "predictions.csv",
    ):
        assert expected in out
    data = json.loads(_run(capsys, "show", logged_run, "--json"))
    assert data["params"] == {"model": "m1", "temperature": "0.5"}
    assert data["metrics"] == {"latency_ms": 80.0}
    assert data["info"]["status"] == "FINISHED"
    assert data["tables"] == ["predictions.csv"]


def test_show_of_an_unknown_run_says_how_to_find_runs(
    logged_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--tracking-uri", tracklm.get_tracking_uri(), "show", "nope"]) == 1
    assert "tracklm runs" in capsys.readouterr().err


def test_table_prints_csv_that_reads_back_exactly(
    logged_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(capsys, "table", logged_run, "--format", "csv")
    frame = pd.read_csv(StringIO(out), dtype=str, keep_default_na=False)
    assert frame.to_dict(orient="list") == {
        "inputs": ["hi", "=1+1"],
        "outputs": ["hello\nthere", "-2"],
    }
    lines = _run(capsys, "table", logged_run, "--format", "json").splitlines()
    assert [json.loads(line)["inputs"] for line in lines] == ["hi", "=1+1"]
    readable = _run(capsys, "table", logged_run)
    assert "hello\\nthere" in readable  # one line per row
    assert "(2 rows)" in readable


def test_demo_records_an_autologged_app_into_the_default_store_and_says_where(
    tmp_path: Path,
) -> None:
    env_free = {k: v for k, v in os.environ.items() if k != "TRACKLM_TRACKING_URI"}
    result = subprocess.run(
        [sys.executable, "-m", "tracklm", "demo"],
        cwd=tmp_path,
        env=env_free,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "tracklm-runs") in result.stdout
    assert "predictions" in result.stdout
    client = tracklm.TracklmClient(str(tmp_path / "tracklm-runs"))
    experiment = client.get_experiment_by_name("tracklm-demo")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params["temperature"] == "0.2"
    assert run.data.params["top_k"] == "40"
    table = client.load_table(None, "predictions.csv", run_ids=[run.info.run_id])
    assert list(table["operation"]) == ["chat", "chat", "embedding", "chat", "chat"]
    assert list(table["stream"]) == [False, True, False, False, False]
    assert list(table["status"]) == ["ok", "ok", "ok", "ok", "error"]
    assert "get_weather" in table["outputs"][3]


SPREADSHEET_TRAPS = [
    "=1+1",
    '=HYPERLINK("http://evil.example","click me")',
    "-2+3",
    "+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\t=tabbed",
    'say "hi", then\nleave\r\nnow',
    "é中文🙂",
    "  spaced  ",
]


def test_table_as_xlsx_holds_every_cell_as_text_and_no_formula(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    openpyxl = pytest.importorskip("openpyxl")  # a dev dependency: installed by `uv run`
    with tracklm.start_run() as run:
        tracklm.log_table(
            {
                "outputs": SPREADSHEET_TRAPS,
                "n": list(range(len(SPREADSHEET_TRAPS))),
                "score": [0.5] * len(SPREADSHEET_TRAPS),
            },
            "predictions.csv",
        )
        tracklm.log_table({"outputs": ["x" * 40_000, None, "bell\x07"]}, "predictions.csv")
    out = tmp_path / "predictions.xlsx"
    args = [run.info.run_id, "predictions.csv", "--format", "xlsx", "--output", str(out)]
    assert _run(capsys, "table", *args) == ""

    sheet = openpyxl.load_workbook(out).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert {c.data_type for c in cells} == {"s"}  # text, never "f" (a formula) nor a number
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["outputs", "n", "score"]
    assert [r[0] for r in values[1:10]] == SPREADSHEET_TRAPS
    assert values[1][1:] == ["0", "0.5"]
    assert values[10][0] == "x" * 32_767  # a spreadsheet cell's limit
    assert values[11] == [None, None, None]
    assert values[12][0] == "bell_x0007_"  # XML cannot hold it: the format's own escape


def test_table_as_xlsx_needs_an_output_file(
    logged_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--tracking-uri", tracklm.get_tracking_uri(), "table", logged_run, "--format", "xlsx"]
    assert main(argv) == 1
    assert "--output" in capsys.readouterr().err
