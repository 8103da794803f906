"""What tracklm logs into an MLflow server is what MLflow's own client and UI read: runs,
params, metric histories, tags, files, and the predictions table in MLflow's table form."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import openai
import pandas as pd
import pytest

import tracklm
from tracklm.cli import main
from tracklm.testing import LLMServer

from .conftest import mlflow_run_id


def test_mlflow_reads_what_autolog_and_the_fluent_api_logged(
    logging_to: str, experiment_name: str, mlflow: ModuleType, tmp_path: Path
) -> None:
    tracklm.autolog()
    notes = tmp_path / "notes.txt"
    notes.write_text("a file from disk")
    with LLMServer() as llm, tracklm.start_run(run_name="chat", tags={"team": "x"}) as run:
        client = openai.OpenAI(api_key="sk-test", base_url=llm.openai_base_url, max_retries=0)
        replies = [
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": f"hello {i}"}],
                temperature=0.5,
            )
            for i in range(3)
        ]
        tracklm.log_param("prompt_version", "v2")
        tracklm.log_metric("score", 0.25, step=1)
        tracklm.log_metric("score", 0.75, step=2)
        tracklm.log_text("plain text", "notes/readme.txt")
        tracklm.log_dict({"answer": 42}, "config.json")
        tracklm.log_artifact(notes, "inputs")
    assert tracklm.flush(60).ok
    assert all(r.choices[0].message.content for r in replies)

    from mlflow import MlflowClient

    mlflow_id = mlflow_run_id(mlflow, experiment_name, run.info.run_id)
    got = MlflowClient().get_run(mlflow_id)
    assert (got.info.run_name, got.info.status) == ("chat", "FINISHED")
    assert got.data.params["model"] == "gpt-4o-mini"
    assert got.data.params["temperature"] == "0.5"
    assert got.data.params["prompt_version"] == "v2"
    assert got.data.tags["team"] == "x"
    assert got.data.metrics["score"] == 0.75
    history = MlflowClient().get_metric_history(mlflow_id, "total_tokens")
    assert sorted(m.step for m in history) == [1, 2, 3]
    assert [m.value for m in MlflowClient().get_metric_history(mlflow_id, "score")] == [0.25, 0.75]

    frame = mlflow.search_runs(experiment_names=[experiment_name])
    assert list(frame["run_id"]) == [mlflow_id]
    assert frame["params.model"][0] == "gpt-4o-mini"
    assert frame["metrics.score"][0] == 0.75

    mlflow.set_experiment(experiment_name)
    table = mlflow.load_table("predictions.json", run_ids=[mlflow_id])
    assert list(table["operation"]) == ["chat"] * 3
    assert [json.loads(c)[0]["content"] for c in table["inputs"]] == [
        f"hello {i}" for i in range(3)
    ]
    csv_path = mlflow.artifacts.download_artifacts(
        run_id=mlflow_id, artifact_path="predictions.csv", dst_path=str(tmp_path / "down")
    )
    on_disk = pd.read_csv(csv_path)
    assert list(on_disk["call_id"]) == list(table["call_id"])
    assert list(on_disk["total_tokens"]) == list(table["total_tokens"])

    files = {f.path for f in MlflowClient().list_artifacts(mlflow_id)}
    assert {"predictions.csv", "predictions.json", "config.json", "notes", "inputs"} <= files
    down = Path(mlflow.artifacts.download_artifacts(run_id=mlflow_id, dst_path=str(tmp_path)))
    assert (down / "notes" / "readme.txt").read_text() == "plain text"
    assert json.loads((down / "config.json").read_text()) == {"answer": 42}
    assert (down / "inputs" / "notes.txt").read_text() == "a file from disk"


def test_tracklm_reads_its_runs_back_by_its_own_ids_and_by_mlflow_ids(
    server_uri: str, experiment_name: str, mlflow: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    client = tracklm.TracklmClient(server_uri)
    experiment_id = client.create_experiment(experiment_name)
    run = client.create_run(experiment_id, run_name="evals")
    run_id = run.info.run_id
    client.log_batch(run_id, metrics={"accuracy": 0.5}, params={"model": "m1"}, tags={"k": "v"})
    client.log_metric(run_id, "accuracy", 0.75, step=1)
    client.log_table(run_id, {"q": ["a", "b"], "score": [1, 2]}, "evals/answers.csv")
    client.log_table(run_id, {"q": ["c"], "score": [3]}, "evals/answers.csv")
    client.set_terminated(run_id)
    assert client.flush(60).ok

    got = client.get_run(run_id)  # tracklm's id works against the server
    assert (got.info.run_id, got.info.status) == (run_id, "FINISHED")
    # the client names the experiment by tracklm's id for its name; the server numbers it:
    # either id finds it
    assert client.get_experiment(experiment_id).experiment_id == got.info.experiment_id
    assert client.get_experiment(got.info.experiment_id).name == experiment_name
    assert got.data.params == {"model": "m1"}
    assert got.data.metrics == {"accuracy": 0.75}
    assert got.data.tags == {"k": "v"}
    mlflow_id = mlflow_run_id(mlflow, experiment_name, run_id)
    assert client.get_run(mlflow_id).info.run_id == run_id  # and so does MLflow's
    assert [m.value for m in client.get_metric_history(run_id, "accuracy")] == [0.5, 0.75]
    assert client.list_tables(run_id) == ["evals/answers.csv"]
    loaded = client.load_table(experiment_id, "evals/answers.csv")
    assert list(loaded["q"]) == ["a", "b", "c"]
    assert client.read_artifact(run_id, "evals/answers.csv") == b"q,score\na,1\nb,2\nc,3\n"
    mlflow.set_experiment(experiment_name)
    answers = mlflow.load_table("evals/answers.json", run_ids=[mlflow_id])
    assert list(answers["score"]) == [1, 2, 3]

    tracklm.set_tracking_uri(server_uri)
    frame = tracklm.search_runs(experiment_names=[experiment_name], filter_string="tags.k = 'v'")
    assert list(frame["run_id"]) == [run_id]
    assert frame["metrics.accuracy"].tolist() == [0.75]

    capsys.readouterr()
    assert main(["--tracking-uri", server_uri, "runs", "-e", experiment_name, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in listed] == [run_id]
    assert main(["--tracking-uri", server_uri, "show", run_id]) == 0
    assert "evals/answers.csv" in capsys.readouterr().out
