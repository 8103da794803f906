"""An MLflow server that goes down while the app logs: the app's calls go on as if nothing
happened, the records wait in the journal, and once the server is back every one arrives."""

from __future__ import annotations

import threading
import time
from types import ModuleType

import openai

import tracklm
from tracklm.testing import LLMServer

from ._server import MLflowServer
from .conftest import mlflow_run_id


def test_logging_goes_on_while_the_server_is_down_and_nothing_is_lost(
    logging_to: str, experiment_name: str, mlflow_server: MLflowServer, mlflow: ModuleType
) -> None:
    tracklm.autolog()
    calls: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    with LLMServer() as llm, tracklm.start_run(run_name="outage") as run:
        client = openai.OpenAI(api_key="sk-test", base_url=llm.openai_base_url, max_retries=0)

        def app() -> None:  # the application: a call every 100 ms, whatever the server does
            n = 0
            while not stop.is_set():
                try:
                    client.chat.completions.create(
                        model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{n}"}]
                    )
                    tracklm.log_metric("answered", n, step=n)
                except BaseException as exc:
                    errors.append(exc)
                    return
                calls.append(n)
                n += 1
                time.sleep(0.1)

        worker = threading.Thread(target=tracklm.carry_context(app))  # into the run
        worker.start()
        try:
            time.sleep(1.0)
            mlflow_server.stop()  # terminated mid-run
            assert not mlflow_server.healthy()
            time.sleep(1.0)
            held = tracklm.flush(timeout=0.5)
            assert held.pending > 0  # kept in the journal, reported
            assert held.dropped == 0
            mlflow_server.start()  # the same port and backend
            time.sleep(1.0)
        finally:
            stop.set()
            worker.join(30)
    assert errors == []
    result = tracklm.flush(timeout=120)
    assert result.ok, result

    made = len(calls)
    assert made > 20
    history = tracklm.TracklmClient().get_metric_history(run.info.run_id, "answered")
    assert [m.value for m in history] == [float(n) for n in range(made)]
    rows = tracklm.load_table("predictions.csv", run_ids=[run.info.run_id])
    assert len(rows) == made
    assert rows["call_id"].nunique() == made

    from mlflow import MlflowClient

    mlflow_id = mlflow_run_id(mlflow, experiment_name, run.info.run_id)
    assert len(MlflowClient().get_metric_history(mlflow_id, "total_tokens")) == made
    mlflow.set_experiment(experiment_name)
    table = mlflow.load_table("predictions.json", run_ids=[mlflow_id])
    assert sorted(table["call_id"]) == sorted(rows["call_id"])
    assert MlflowClient().get_run(mlflow_id).info.status == "FINISHED"
