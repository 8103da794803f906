"""What only the MLflow store has: URIs and credentials, a server that fails in its ways,
MLflow's request limits, batches written again, and table files rewritten coalesced."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType

import pytest

import tracklm
from tracklm import StoreError
from tracklm._run_manager.records import (
    AppendRows,
    Batch,
    CreateExperiment,
    CreateRun,
    LogMetric,
    LogParam,
    Record,
    SetTag,
)
from tracklm.stores import StoreUnavailable, mask_password, open_store, resolve_uri
from tracklm.stores._mlflow_rest import RestClient
from tracklm.stores._mlflow_tables import TABLES_DIR
from tracklm.stores.mlflow import MLflowStore

from ..conftest import closed_port
from .conftest import mlflow_run_id

SECRET = "pw-tracklm-mlflow-7731-SECRET"
TOKEN = "tok-tracklm-mlflow-0452-SECRET"


def mlflow_store(uri: str) -> MLflowStore:
    store = open_store(uri)
    assert isinstance(store, MLflowStore)
    return store


def new_run(run_id: str, experiment: str) -> list[Record]:
    return [
        CreateExperiment("e", experiment, 1),
        CreateRun(run_id, "e", experiment, f"run-{run_id}", 10, {}, None),
    ]


# -- URIs and credentials (no MLflow server needed) ----------------------------------------------


def test_uris_normalize_and_show_no_password() -> None:
    given = f"MLflow+HTTPS://me:{SECRET}@mlflow.example:8443/tracking/?workspace=team"
    uri = resolve_uri(given)
    assert uri == f"mlflow+https://me:{SECRET}@mlflow.example:8443/tracking?workspace=team"
    assert mask_password(uri) == "mlflow+https://me:***@mlflow.example:8443/tracking?workspace=team"
    store = mlflow_store(given)
    assert store.uri == "mlflow+https://me@mlflow.example:8443/tracking?workspace=team"
    assert store.describe() == {
        "uri": "mlflow+https://me:***@mlflow.example:8443/tracking?workspace=team",
        "server": "https://mlflow.example:8443/tracking",
        "workspace": "team",
        "artifacts": "mlflow-artifacts (proxied by https://mlflow.example:8443/tracking)",
    }
    assert SECRET not in repr(store.__dict__)
    with pytest.raises(tracklm.InvalidTrackingUri, match="experiment"):
        open_store("mlflow+http://host:5000?experiment=x")


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with the server's canned status and body; keeps the headers."""

    def _answer(self) -> None:
        server = self.server
        assert isinstance(server, _FailingServer)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        server.seen.append(dict(self.headers))
        if server.hang.is_set():
            server.release.wait(10)
        status, body = server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class _FailingServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that answers as told: how a failing MLflow server looks."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.answer: tuple[int, bytes] = (503, b'{"error_code": "TEMPORARILY_UNAVAILABLE"}')
        self.seen: list[dict[str, str]] = []
        self.hang = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def failing() -> Iterator[_FailingServer]:
    server = _FailingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def one_metric() -> Batch:
    return Batch([LogMetric("r", "m", 1.0, 0, 1)])


def test_credentials_are_sent_as_mlflows_clients_send_them_and_never_shown(
    failing: _FailingServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="tracklm")
    with_password = failing.url.replace("http://", f"mlflow+http://me:{SECRET}@")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    errors = []
    for uri in (with_password, f"mlflow+{failing.url}"):
        with pytest.raises(StoreUnavailable) as raised:
            mlflow_store(uri).write_batch(one_metric())
        errors.append(str(raised.value))
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "you")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", SECRET)
    store = mlflow_store(f"mlflow+{failing.url}")
    with pytest.raises(StoreError) as read:
        store.list_experiments()
    errors.append(str(read.value))
    sent = [h.get("Authorization") for h in failing.seen]
    assert sent[0].startswith("Basic ")  # the URI's user and password
    assert sent[1] == f"Bearer {TOKEN}"  # MLFLOW_TRACKING_TOKEN
    assert sent[2].startswith("Basic ")  # MLFLOW_TRACKING_USERNAME / _PASSWORD win over it
    import base64

    assert base64.b64decode(sent[0].split()[1]).decode() == f"me:{SECRET}"
    assert base64.b64decode(sent[2].split()[1]).decode() == f"you:{SECRET}"
    shown = " ".join(errors) + repr(store.describe()) + caplog.text
    assert SECRET not in shown
    assert TOKEN not in shown


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}'),
        (500, b'{"error_code": "INTERNAL_ERROR", "message": "database is locked"}'),
        (429, b'{"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}'),
        (401, b'{"error_code": "UNAUTHENTICATED", "message": "who are you"}'),
        (404, b"<html>not an MLflow server</html>"),
    ],
)
def test_a_failing_server_is_unavailable(failing: _FailingServer, status: int, body: bytes) -> None:
    failing.answer = (status, body)
    with pytest.raises(StoreUnavailable, match=str(status)):
        mlflow_store(f"mlflow+{failing.url}").write_batch(one_metric())


def test_a_request_mlflow_refuses_is_an_error_of_the_records(failing: _FailingServer) -> None:
    failing.answer = (400, b'{"error_code": "INVALID_PARAMETER_VALUE", "message": "no"}')
    with pytest.raises(StoreError, match="INVALID_PARAMETER_VALUE") as raised:
        mlflow_store(f"mlflow+{failing.url}").write_batch(one_metric())
    assert not isinstance(raised.value, StoreUnavailable)


def test_a_server_that_is_down_or_silent_is_unavailable_within_the_timeout(
    failing: _FailingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StoreUnavailable, match="cannot reach"):
        mlflow_store(f"mlflow+http://127.0.0.1:{closed_port()}").write_batch(one_metric())
    monkeypatch.setattr(RestClient, "TIMEOUT", 0.5)
    failing.hang.set()  # accepts, reads, never answers
    with pytest.raises(StoreUnavailable, match="timed out"):
        mlflow_store(f"mlflow+{failing.url}").write_batch(one_metric())


# -- MLflow's limits -----------------------------------------------------------------------------


def test_batches_beyond_mlflows_limits_all_arrive(
    server_uri: str,
    experiment_name: str,
    mlflow: ModuleType,
    caplog: pytest.LogCaptureFixture,
) -> None:
    long_tag = "t" * 8000  # 250 of them: 2 MB, twice what one request may carry
    records = [
        *new_run("limits", experiment_name),
        *(LogParam("limits", f"p{i}", f"value {i}") for i in range(249)),
        LogParam("limits", "long", "x" * 7000),
        *(SetTag("limits", f"t{i}", long_tag) for i in range(250)),
        *(
            LogMetric("limits", f"m{k}", step + k, step, 1000 + step)
            for step in range(100)
            for k in range(25)
        ),
    ]
    mlflow_store(server_uri).write_batch(Batch(records))  # one batch, as one flush makes it

    from mlflow import MlflowClient

    got = MlflowClient().get_run(mlflow_run_id(mlflow, experiment_name, "limits"))
    assert len(got.data.params) == 250
    assert got.data.params["p248"] == "value 248"
    assert got.data.params["long"] == "x" * 6000  # cut to MLflow's limit, and said so
    assert "6000 characters MLflow keeps" in caplog.text
    tags = {k: v for k, v in got.data.tags.items() if k[0] == "t" and k[1:].isdigit()}
    assert tags == {f"t{i}": long_tag for i in range(250)}
    histories = [MlflowClient().get_metric_history(got.info.run_id, f"m{k}") for k in range(25)]
    assert sum(len(h) for h in histories) == 2500
    assert sorted(m.step for m in histories[7]) == list(range(100))


# -- batches written again -----------------------------------------------------------------------


def test_a_batch_written_again_is_stored_once(
    server_uri: str, experiment_name: str, mlflow: ModuleType
) -> None:
    records = [
        *new_run("replayed", experiment_name),
        *(LogMetric("replayed", "m", float(i), i, 1000 + i) for i in range(5)),
        LogParam("replayed", "p", "v"),
        SetTag("replayed", "t", "first"),
        AppendRows("replayed", "rows.csv", [{"i": i} for i in range(3)]),
    ]
    batch = Batch(records)
    mlflow_store(server_uri).write_batch(batch)
    later = mlflow_store(server_uri)
    later.write_batch(Batch([SetTag("replayed", "t", "second")]))

    def stored(store: MLflowStore) -> tuple[int, list[object], str]:
        run = store.get_run("replayed")
        assert run is not None
        rows = [r["i"] for r in store.read_table("replayed", "rows.csv") or []]
        return len(store.get_metric_history("replayed", "m")), rows, run.data.tags["t"]

    assert stored(later) == (5, [0, 1, 2], "second")
    for store in (later, mlflow_store(server_uri)):  # this process, and a new one
        store.write_batch(Batch.from_json(batch.to_json()))
        assert stored(store) == (5, [0, 1, 2], "second")  # skipped: nothing older comes back

    # a batch cut short after its rows were written (its marker never was): written again
    # whole, each value and row still counts once
    from mlflow import MlflowClient

    mlflow_id = mlflow_run_id(mlflow, experiment_name, "replayed")
    for key in MlflowClient().get_run(mlflow_id).data.tags:
        if key.startswith("tracklm.applied."):
            MlflowClient().delete_tag(mlflow_id, key)
    fresh = mlflow_store(server_uri)
    fresh.write_batch(Batch.from_json(batch.to_json()))
    # and as the run manager writes a batch the store refused: one record at a time
    for i, record in enumerate(records):
        fresh.write_batch(Batch([record], batch_id=f"{batch.batch_id}.{i}"))
    metrics, rows, _ = stored(fresh)
    assert (metrics, rows) == (5, [0, 1, 2])
    assert len(MlflowClient().get_metric_history(mlflow_id, "m")) == 5
    fresh.sync_files(force=True)
    assert fresh.artifacts.read_bytes("e", "replayed", "rows.csv") == b"i\n0\n1\n2\n"


def test_a_record_mlflow_refuses_does_not_hold_back_the_others(
    logging_to: str, experiment_name: str, mlflow: ModuleType
) -> None:
    client = tracklm.TracklmClient()
    experiment_id = client.experiment_id_by_name(experiment_name)
    doomed = client.create_run(experiment_id, run_name="deleted-meanwhile").info.run_id
    kept = client.create_run(experiment_id, run_name="kept").info.run_id
    assert client.flush(30).ok
    from mlflow import MlflowClient

    # someone deletes a run in MLflow's UI while the app still logs into it
    MlflowClient().delete_run(mlflow_run_id(mlflow, experiment_name, doomed))
    before = client.flush().dropped
    for i in range(3):
        client.log_metric(doomed, "m", i, step=i)
        client.log_metric(kept, "m", i, step=i)
    client.log_table(kept, {"i": [1, 2]}, "rows.csv")
    result = client.flush(30)
    assert result.pending == 0
    assert result.dropped - before == 3  # the deleted run's, counted
    assert [m.value for m in client.get_metric_history(kept, "m")] == [0.0, 1.0, 2.0]
    assert list(client.load_table(None, "rows.csv", run_ids=[kept])["i"]) == [1, 2]


# -- table files ---------------------------------------------------------------------------------


def test_table_files_are_rewritten_coalesced_and_parts_folded(
    server_uri: str, experiment_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = mlflow_store(server_uri)
    monkeypatch.setattr(store.tables, "REWRITE_INTERVAL", 3600.0)
    store.write_batch(Batch([*new_run("t1", experiment_name)]))
    for i in range(6):
        store.write_batch(Batch([AppendRows("t1", "log.csv", [{"i": i, "text": "x" * 100}])]))
        store.sync_files(force=False)  # what the run manager does after each write
    folder = store.run_folder("t1", wait=0).path
    rest = store._rest

    def listed(path: str) -> list[str]:
        return sorted(name for name, _, _ in rest.list_artifacts(path))

    parts = listed(f"{folder}/{TABLES_DIR}/log.csv")
    assert len(parts) == 6  # each append cost one small file of its rows
    first = rest.get_artifact(f"{folder}/log.csv")
    assert first == b"i,text\n0," + b"x" * 100 + b"\n"  # written once, at the first append
    assert [r["i"] for r in store.read_table("t1", "log.csv") or []] == list(range(6))

    store.sync_files(force=True)  # flush() and exit
    assert len(listed(f"{folder}/{TABLES_DIR}/log.csv")) == 1  # folded into one part
    csv = rest.get_artifact(f"{folder}/log.csv")
    assert csv is not None
    assert csv.count(b"\n") == 7
    mlflow_form = json.loads(rest.get_artifact(f"{folder}/log.json") or b"")
    assert mlflow_form["columns"] == ["i", "text"]
    assert [row[0] for row in mlflow_form["data"]] == list(range(6))
    run = store._get_run_json(store.mlflow_run_id("t1") or "")
    assert run is not None
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert json.loads(tags["mlflow.loggedArtifacts"]) == [{"path": "log.json", "type": "table"}]
    assert [r["i"] for r in store.read_table("t1", "log.csv") or []] == list(range(6))
