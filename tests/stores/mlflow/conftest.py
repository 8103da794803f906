"""What the MLflow store's own tests share: the server's default workspace, and MLflow's own
client pointed at it to read back what tracklm logged."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import ModuleType

import pytest

import tracklm

from ._server import MLflowServer


@pytest.fixture
def server_uri(mlflow_server: MLflowServer) -> str:
    """The tracking URI of the server's default workspace (where MLflow's client looks)."""
    if not mlflow_server.healthy():  # a test stopped it: bring it back for the next ones
        mlflow_server.start()
    return f"mlflow+{mlflow_server.url}"


@pytest.fixture
def experiment_name() -> str:
    """A name no other test uses (the default workspace is shared by the session)."""
    return f"tracklm-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def logging_to(server_uri: str, experiment_name: str) -> str:
    """The fluent API logs into ``experiment_name`` on the server."""
    tracklm.set_tracking_uri(server_uri)
    tracklm.set_experiment(experiment_name)
    return server_uri


@pytest.fixture
def mlflow(mlflow_server: MLflowServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """MLflow's own package, its tracking URI set to the test server."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    import mlflow as package

    package.set_tracking_uri(mlflow_server.url)
    yield package
    package.set_tracking_uri(None)  # type: ignore[arg-type]


def mlflow_run_id(mlflow: ModuleType, experiment_name: str, run_id: str) -> str:
    """MLflow's id of the run tracklm knows as ``run_id``, found with MLflow's own search."""
    found = mlflow.search_runs(
        experiment_names=[experiment_name],
        filter_string=f"tags.`tracklm.run_id` = '{run_id}'",
    )
    assert len(found) == 1, found
    return str(found["run_id"][0])
