"""The MLflow store: runs logged into an MLflow tracking server over its REST API.

``mlflow+http://host:5000`` (or ``mlflow+https://``, a path if the server is mounted under
one, ``user:password@`` for Basic auth, ``?workspace=name`` for an MLflow workspace). Needs no
``mlflow`` package: requests go over the standard library. Credentials are read as MLflow's
clients read them (``MLFLOW_TRACKING_TOKEN``, ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD``) and never shown, logged or used as a key. The server must serve
artifacts (``--serve-artifacts``, MLflow's default): files and tables go through its proxy.

What lands where:

- experiments by name (the server numbers them; tracklm's own ids for a name, and ids seen in
  this process's records, are accepted as aliases when reading);
- a run is created with the tag ``tracklm.run_id``: MLflow assigns its own run ids, tracklm
  makes one before anything reaches the server, and every read through tracklm finds the run
  by its tracklm id (or by the MLflow id, as the MLflow UI shows it). Runs read back carry
  tracklm's id; :meth:`MLflowStore.mlflow_run_id` gives the other;
- params, metrics and tags through ``runs/log-batch``, split to MLflow's limits (1000 metrics,
  100 params, 100 tags, 1000 in all and under 1 MB per request); a param longer than 6000
  characters or a tag longer than 8000 is cut to the limit, with a warning;
- tables as parts and files in the run's artifacts: :mod:`tracklm.stores._mlflow_tables`.

A batch is written in several requests, in an order that lets a batch cut short be written
again without doubles: the run (found by its tag before it is created), table parts (rows carry
ids; readers drop a row seen twice), status, then params, tags and metrics (MLflow keeps a
metric value once per key, step, time and value, and a param's same value again is no change).
Only a tag or a status set again after a later batch changed it would undo something, so a
batch that sets any ends with a marker: its id, in the run tag ``tracklm.applied.<writer>``
(the latest 200 such batches of each writing process); a batch whose id the run's markers hold
is skipped.

Where MLflow differs from tracklm's other stores: experiment ids and creation times are the
server's; the latest value of a metric logged twice at the same step and time is the larger
one; a value logged twice at the same key, step, time and value is kept once; values at one
step and time come back ordered by value; infinities are kept as the largest float (read back
as infinities); a run set back to RUNNING keeps its end time on the server (tracklm reports
none). The tags MLflow and tracklm use for bookkeeping (``mlflow.runName``,
``mlflow.parentRunId``, ``mlflow.loggedArtifacts``, ``tracklm.run_id``,
``tracklm.applied.*``) are left out of ``run.data.tags``.

A server that cannot be reached, times out (``RestClient.TIMEOUT``, 10 s), answers 5xx or
429, or refuses the credentials makes ``write_batch`` raise ``StoreUnavailable``: the records
wait in the journal. A request MLflow refuses for its content (4xx) is an error of the records:
the run manager writes the others and drops that one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from tracklm._errors import ExperimentExists, StoreError
from tracklm._run_manager.records import (
    AppendRows,
    Batch,
    CreateRun,
    LogMetric,
    Row,
    SetRunStatus,
)
from tracklm.entities import Experiment, Metric, Run, RunData, RunInfo
from tracklm.stores._batch_plan import plan
from tracklm.stores._mlflow_artifacts import MLflowArtifactRepository
from tracklm.stores._mlflow_requests import (
    MAX_TAG_VALUE,
    check_records,
    has_room,
    int_or_none,
    log_batch_bodies,
    logged_tables,
    metric_of,
    proxy_path,
    tags_of,
)
from tracklm.stores._mlflow_rest import (
    RequestRefused,
    RestClient,
    RestError,
    ServerUnavailable,
    authorization,
    parse_server,
)
from tracklm.stores._mlflow_tables import RunFolder, TableFiles, row_ids
from tracklm.stores._uri import mask_password, without_password
from tracklm.stores.base import Store, StoreUnavailable

__all__ = ["MLflowStore"]

logger = logging.getLogger("tracklm.stores.mlflow")

RUN_ID_TAG: Final = "tracklm.run_id"
PARENT_TAG: Final = "tracklm.parentRunId"
APPLIED_TAG: Final = "tracklm.applied."
LOGGED_ARTIFACTS: Final = "mlflow.loggedArtifacts"
_HIDDEN_TAGS: Final = frozenset(
    {RUN_ID_TAG, "mlflow.runName", "mlflow.parentRunId", LOGGED_ARTIFACTS}
)
APPLIED_KEPT: Final = 200
"""Batch ids a writer's marker tag holds for a run (its latest ones)."""
_PAGE: Final = 1000


@dataclass
class _Run:
    """What this process knows of a run on the server."""

    run_id: str
    mlflow_id: str
    experiment_id: str
    artifact_uri: str
    params: set[str] = field(default_factory=set)
    """Param keys the server holds (a param keeps its first value)."""
    applied: set[str] = field(default_factory=set)
    """Ids of batches the run's markers hold."""
    mine: list[str] = field(default_factory=list)
    """This writer's latest batch ids for the run, oldest first (its marker tag)."""
    logged: set[str] | None = None
    """The table files ``mlflow.loggedArtifacts`` lists, once read."""


@dataclass
class _RunWork:
    params: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    metrics: list[LogMetric] = field(default_factory=list)
    status: SetRunStatus | None = None
    tables: dict[str, list[tuple[str, Row]]] = field(default_factory=dict)


class MLflowStore(Store):
    """Experiments and runs on an MLflow tracking server."""

    def __init__(self, uri: str, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        try:
            server, login = parse_server(uri)
        except ValueError as exc:
            from tracklm._errors import InvalidTrackingUri

            raise InvalidTrackingUri(
                f"Tracking URI {mask_password(uri)!r} is not an MLflow server's: {exc}."
            ) from None
        self.uri = without_password(uri)
        self.location = mask_password(uri)
        self._rest = RestClient(server, authorization(login, env), env)
        self._writer = _new_writer()
        self._lock = threading.Lock()
        self._created = threading.Condition(self._lock)
        self._runs: dict[str, _Run] = {}  # tracklm id and MLflow id -> the run
        self._experiments: dict[str, Experiment] = {}  # server id -> experiment
        self._by_name: dict[str, Experiment] = {}
        self._aliases: dict[str, str] = {}  # an experiment id seen in records -> its name
        self._pid = os.getpid()
        self.tables = TableFiles(self._rest, self._writer, self._log_table_file)
        self.artifacts = MLflowArtifactRepository(self._rest, self, self.tables)

    # -- writes ------------------------------------------------------------------------------

    def write_batch(self, batch: Batch) -> None:
        self._check_fork()
        check_records(batch.records)  # before any request: a bad record writes nothing
        try:
            self._write(batch)
        except ServerUnavailable as exc:
            raise StoreUnavailable(str(exc)) from exc
        except RequestRefused as exc:
            raise StoreError(str(exc)) from None

    def _write(self, batch: Batch) -> None:
        work = plan(batch.records)
        for experiment in work.experiments:
            self._aliases[experiment.experiment_id] = experiment.name
            self._experiment_named(experiment.name, create=True)
        for record in work.runs:
            self._create_run(record)
        runs: dict[str, _RunWork] = {}
        for run_id, key, value in work.params:
            runs.setdefault(run_id, _RunWork()).params.append((key, value))
        for run_id, key, value in work.tags:
            runs.setdefault(run_id, _RunWork()).tags.append((key, value))
        for metric in work.metrics:
            runs.setdefault(metric.run_id, _RunWork()).metrics.append(metric)
        for status in work.statuses:
            runs.setdefault(status.run_id, _RunWork()).status = status  # the last one stands
        for index, prefix in row_ids(batch.batch_id, batch.records):
            appended = batch.records[index]
            if isinstance(appended, AppendRows):
                rows = runs.setdefault(appended.run_id, _RunWork()).tables
                rows.setdefault(appended.artifact_file, []).extend(
                    (f"{prefix}:{n}", row) for n, row in enumerate(appended.rows)
                )
        for run_id, run_work in runs.items():
            run = self._find_run(run_id)
            if run is None:
                raise RequestRefused(
                    f"run {run_id} is not on the MLflow server {self._rest.server.base_url} "
                    "(its creation never reached it); its records cannot be written"
                )
            if batch.batch_id not in run.applied:
                self._write_run(run, run_work, batch.batch_id)

    def _write_run(self, run: _Run, work: _RunWork, batch_id: str) -> None:
        """Write one run's part of a batch: rows, status, then params, tags and metrics.

        Each step can be done again without doubles (see the module's docstring). What can
        not be — a tag or status set again after a later batch changed it — is guarded by the
        marker, sent last, in the last ``log-batch`` request (MLflow sets a request's tags
        after its metrics), or alone when there is none.
        """
        if work.tables:
            folder = self._folder(run)
            for artifact_file, rows in work.tables.items():
                self.tables.append(folder, artifact_file, rows)
        if work.status is not None:
            update: dict[str, Any] = {"run_id": run.mlflow_id, "status": work.status.status}
            if work.status.end_time is not None:
                update["end_time"] = work.status.end_time
            self._rest.call("POST", "runs/update", update)
        params = [(k, v) for k, v in work.params if k not in run.params]
        requests = log_batch_bodies(params, work.tags, work.metrics)
        if work.tags or work.status is not None:
            marker = self._marker(run, batch_id)
            if requests and has_room(requests, marker):
                requests[-1]["tags"].append(marker)
            else:
                requests.append({"params": [], "tags": [marker], "metrics": []})
            run.mine.append(batch_id)
            del run.mine[:-APPLIED_KEPT]
        for body in requests:
            self._log_batch(run, body)
        run.params.update(k for k, _ in params)
        if work.tags or work.status is not None:
            run.applied.add(batch_id)

    def _marker(self, run: _Run, batch_id: str) -> dict[str, str]:
        ids = [*run.mine[-(APPLIED_KEPT - 1) :], batch_id]
        value = " ".join(ids)
        while len(value) > MAX_TAG_VALUE:  # long ids (another tool's): keep what fits
            ids = ids[1:]
            value = " ".join(ids)
        return {"key": APPLIED_TAG + self._writer, "value": value}

    def _log_batch(self, run: _Run, body: dict[str, Any]) -> None:
        """One ``runs/log-batch``; a param another writer gave first is left as it is."""
        request = {"run_id": run.mlflow_id, **body}
        try:
            self._rest.call("POST", "runs/log-batch", request)
            return
        except RequestRefused as exc:
            if not body["params"] or "changing param values" not in str(exc).lower():
                raise
        held = self._get_run_json(run.mlflow_id)
        keys = {p["key"] for p in held.get("data", {}).get("params", [])} if held else set()
        run.params.update(keys)
        request["params"] = [p for p in body["params"] if p["key"] not in keys]
        self._rest.call("POST", "runs/log-batch", request)

    # -- runs on the server ------------------------------------------------------------------

    def _create_run(self, record: CreateRun) -> None:
        with self._lock:
            if record.run_id in self._runs:
                return
        self._aliases[record.experiment_id] = record.experiment_name
        experiment = self._experiment_named(record.experiment_name, create=True)
        assert experiment is not None
        found = self._search_one([experiment.experiment_id], record.run_id)
        if found is None:
            tags = [{"key": RUN_ID_TAG, "value": record.run_id}]
            if record.parent_run_id is not None:
                tags.append({"key": PARENT_TAG, "value": record.parent_run_id})
                parent = self._find_run(record.parent_run_id)
                if parent is not None:  # the MLflow UI nests the run under its parent
                    tags.append({"key": "mlflow.parentRunId", "value": parent.mlflow_id})
            body = {
                "experiment_id": experiment.experiment_id,
                "run_name": record.run_name,
                "start_time": record.start_time,
                "tags": tags,
            }
            # never sent twice by the transport: a second run would be made
            found = self._rest.call("POST", "runs/create", body, retry=False)["run"]
        self._remember(found)

    def _remember(self, raw: Mapping[str, Any]) -> _Run:
        info, data = raw["info"], raw.get("data", {})
        tags = tags_of(raw)
        mlflow_id = info.get("run_id") or info["run_uuid"]
        run_id = tags.get(RUN_ID_TAG) or mlflow_id
        with self._lock:
            run = self._runs.get(mlflow_id)
            if run is None:
                run = _Run(run_id, mlflow_id, info["experiment_id"], info.get("artifact_uri", ""))
            run.params.update(p["key"] for p in data.get("params", []))
            for key, value in tags.items():
                if key.startswith(APPLIED_TAG):
                    run.applied.update(value.split())
            if LOGGED_ARTIFACTS in tags:
                run.logged = logged_tables(tags[LOGGED_ARTIFACTS])
            self._runs[mlflow_id] = self._runs[run_id] = run
            self._created.notify_all()
        return run

    def _find_run(self, run_id: str) -> _Run | None:
        """The run a tracklm id (or an MLflow run id) names, or None."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None:
            return run
        raw = self._find_run_json(run_id)
        return self._remember(raw) if raw is not None else None

    def _find_run_json(self, run_id: str) -> dict[str, Any] | None:
        experiment_ids = [e.experiment_id for e in self._all_experiments()]
        found = self._search_one(experiment_ids, run_id) if experiment_ids else None
        if found is None and run_id and all(c.isalnum() or c in "-_" for c in run_id):
            found = self._get_run_json(run_id)  # an MLflow run id
        if found is not None and found["info"].get("lifecycle_stage", "active") != "active":
            return None
        return found

    def _search_one(self, experiment_ids: list[str], run_id: str) -> dict[str, Any] | None:
        quoted = run_id.replace("\\", "\\\\").replace("'", "\\'")
        body = {
            "experiment_ids": experiment_ids,
            "filter": f"tags.`{RUN_ID_TAG}` = '{quoted}'",
            "max_results": 1,
        }
        runs = self._rest.call("POST", "runs/search", body).get("runs", [])
        return runs[0] if runs else None

    def _get_run_json(self, mlflow_id: str) -> dict[str, Any] | None:
        try:
            answer = self._rest.call("GET", "runs/get", query={"run_id": mlflow_id})
        except RequestRefused:  # no such run (MLflow answers 404, or 400 for an odd id)
            return None
        run: dict[str, Any] = answer["run"]
        return run

    def _folder(self, run: _Run) -> RunFolder:
        return RunFolder(run.run_id, run.mlflow_id, proxy_path(run.artifact_uri, self.location))

    def _log_table_file(self, folder: RunFolder, view: str) -> None:
        """List a table's ``.json`` file in ``mlflow.loggedArtifacts`` (MLflow's table view)."""
        run = self._find_run(folder.run_id)
        if run is None:
            return
        if run.logged is None or view not in run.logged:
            raw = self._get_run_json(run.mlflow_id)  # other writers may have listed tables
            tags = tags_of(raw or {})
            run.logged = logged_tables(tags.get(LOGGED_ARTIFACTS, "[]"))
            if view in run.logged:
                return
            entries = json.loads(tags.get(LOGGED_ARTIFACTS) or "[]")
            entries.append({"path": view, "type": "table"})
            value = json.dumps(entries)
            self._rest.call(
                "POST",
                "runs/log-batch",
                {"run_id": run.mlflow_id, "tags": [{"key": LOGGED_ARTIFACTS, "value": value}]},
            )
            run.logged.add(view)

    # -- what the artifact repository asks ---------------------------------------------------

    def run_folder(self, run_id: str, *, wait: float) -> RunFolder:
        """The run's artifact folder; waits up to ``wait`` s for a run still being created."""
        deadline = time.monotonic() + wait
        with self._reading("find the run"):
            run = self._find_run(run_id)
            if run is None and wait > 0:  # perhaps queued here: the writer creates it soon
                with self._created:
                    while run_id not in self._runs and time.monotonic() < deadline:
                        self._created.wait(min(0.1, max(0.0, deadline - time.monotonic())))
                run = self._find_run(run_id)
        if run is None:
            raise StoreError(
                f"Run {run_id} is not on the MLflow server {self._rest.server.base_url} (yet): "
                "its files cannot be written or read. If it was just started, check that the "
                "server is up: tracklm.flush() reports what is still waiting."
            )
        return self._folder(run)

    def known_artifact_uri(self, run_id: str) -> str | None:
        with self._lock:
            run = self._runs.get(run_id)
        return run.artifact_uri if run is not None else None

    def experiment_location(self, experiment_id: str) -> str:
        experiment = self.get_experiment(experiment_id)
        return experiment.artifact_location or "" if experiment is not None else ""

    def mlflow_run_id(self, run_id: str) -> str | None:
        """The id MLflow gave the run tracklm knows as ``run_id`` (None if not on the server)."""
        with self._reading("find the run"):
            run = self._find_run(run_id)
        return run.mlflow_id if run is not None else None

    def artifact_uri(self, experiment_id: str, run_id: str) -> str:
        return self.artifacts.run_uri(experiment_id, run_id)

    def sync_files(self, force: bool = False) -> None:
        self.tables.sync(force=force)

    # -- experiments -------------------------------------------------------------------------

    def create_experiment(self, name: str, experiment_id: str) -> Experiment:
        """Create an experiment; the server gives its id (``experiment_id`` is kept as an alias)."""
        try:
            self._rest.call("POST", "experiments/create", {"name": name}, retry=False)
        except RequestRefused as exc:
            if exc.code != "RESOURCE_ALREADY_EXISTS":
                raise StoreError(f"Cannot create experiment {name!r}: {exc}") from None
            raise ExperimentExists(
                f"An experiment named {name!r} exists already on {self.location} (perhaps "
                f"deleted, which keeps its name); use tracklm.set_experiment({name!r}) to log "
                "into it."
            ) from None
        except ServerUnavailable as exc:
            raise StoreError(f"Cannot create experiment {name!r}: {exc}") from None
        self._aliases[experiment_id] = name
        with self._reading("read the experiment"):
            experiment = self._experiment_named(name, create=False)
        assert experiment is not None
        return experiment

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        experiment_id = str(experiment_id)
        with self._lock:
            known = self._experiments.get(experiment_id)
        if known is not None:
            return known
        with self._reading("read the experiment"):
            if experiment_id.isdigit():
                try:
                    answer = self._rest.call(
                        "GET", "experiments/get", query={"experiment_id": experiment_id}
                    )
                    return self._keep(answer["experiment"])
                except RequestRefused:
                    pass
            return self._alias(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._reading("read the experiment"):
            return self._experiment_named(name, create=False)

    def list_experiments(self) -> list[Experiment]:
        with self._reading("list experiments"):
            found = self._all_experiments()
        return sorted(found, key=lambda e: (e.creation_time or 0, e.name))

    def _experiment_named(self, name: str, *, create: bool) -> Experiment | None:
        with self._lock:
            known = self._by_name.get(name)
        if known is not None:
            return known
        try:
            answer = self._rest.call(
                "GET", "experiments/get-by-name", query={"experiment_name": name}
            )
            experiment = self._keep(answer["experiment"])
            if experiment is None and create:
                raise RequestRefused(
                    f"the experiment {name!r} is deleted on the MLflow server; restore it (or "
                    "delete it for good with `mlflow gc`) to log into it"
                )
            return experiment
        except RequestRefused as exc:
            if exc.code != "RESOURCE_DOES_NOT_EXIST" or not create:
                if exc.code == "RESOURCE_DOES_NOT_EXIST":
                    return None
                raise
        try:
            self._rest.call("POST", "experiments/create", {"name": name}, retry=False)
        except RequestRefused as exc:
            if exc.code != "RESOURCE_ALREADY_EXISTS":  # another writer created it meanwhile
                raise
        return self._experiment_named(name, create=False)

    def _all_experiments(self) -> list[Experiment]:
        found: list[Experiment] = []
        token = None
        while True:
            body: dict[str, Any] = {"max_results": _PAGE, "view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            answer = self._rest.call("POST", "experiments/search", body)
            for raw in answer.get("experiments", []):
                experiment = self._keep(raw)
                if experiment is not None:
                    found.append(experiment)
            token = answer.get("next_page_token")
            if not token:
                return found

    def _alias(self, experiment_id: str) -> Experiment | None:
        """The experiment tracklm's id for its name, or a record of this process, names."""
        from tracklm.client import experiment_id_for

        name = self._aliases.get(experiment_id)
        if name is not None:
            return self._experiment_named(name, create=False)
        for experiment in self._all_experiments():
            if experiment_id_for(experiment.name) == experiment_id:
                return experiment
        return None

    def _keep(self, raw: Mapping[str, Any]) -> Experiment | None:
        """The experiment (remembered), or None if it is deleted on the server."""
        if raw.get("lifecycle_stage", "active") != "active":
            return None
        experiment = Experiment(
            str(raw["experiment_id"]),
            raw["name"],
            creation_time=int_or_none(raw.get("creation_time")),
            artifact_location=raw.get("artifact_location"),
        )
        with self._lock:
            self._experiments[experiment.experiment_id] = experiment
            self._by_name[experiment.name] = experiment
        return experiment

    def _server_experiment_ids(self, experiment_ids: Iterable[str]) -> list[str]:
        ids: list[str] = []
        for experiment_id in experiment_ids:
            experiment = self.get_experiment(str(experiment_id))
            if experiment is not None and experiment.experiment_id not in ids:
                ids.append(experiment.experiment_id)
        return ids

    # -- runs --------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run | None:
        with self._reading("read the run"):
            with self._lock:
                known = self._runs.get(run_id)
            raw = self._get_run_json(known.mlflow_id) if known else self._find_run_json(run_id)
            if raw is None:
                return None
            self._remember(raw)
            return self._to_run(raw)

    def list_runs(self, experiment_ids: Sequence[str]) -> list[Run]:
        if not experiment_ids:
            return []
        with self._reading("list runs"):
            ids = self._server_experiment_ids(experiment_ids)
            if not ids:
                return []
            runs: list[Run] = []
            token = None
            while True:
                body: dict[str, Any] = {
                    "experiment_ids": ids,
                    "max_results": _PAGE,
                    "order_by": ["attributes.start_time DESC"],
                }
                if token:
                    body["page_token"] = token
                answer = self._rest.call("POST", "runs/search", body)
                for raw in answer.get("runs", []):
                    self._remember(raw)
                    runs.append(self._to_run(raw))
                token = answer.get("next_page_token")
                if not token:
                    return runs

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        with self._reading("read the metric history"):
            run = self._find_run(run_id)
            if run is None:
                return []
            values: list[Metric] = []
            token = None
            while True:
                query = {"run_id": run.mlflow_id, "metric_key": key, "max_results": 25_000}
                if token:
                    query["page_token"] = token
                answer = self._rest.call("GET", "metrics/get-history", query=query)
                values.extend(metric_of(m) for m in answer.get("metrics", []))
                token = answer.get("next_page_token")
                if not token:
                    break
        return sorted(values, key=lambda m: (m.step, m.timestamp))

    def _to_run(self, raw: Mapping[str, Any]) -> Run:
        info, data = raw["info"], raw.get("data", {})
        tags = tags_of(raw)
        mlflow_id = info.get("run_id") or info["run_uuid"]
        status = info.get("status", "RUNNING")
        parent = tags.get(PARENT_TAG) or tags.get("mlflow.parentRunId")
        return Run(
            RunInfo(
                run_id=tags.get(RUN_ID_TAG) or mlflow_id,
                experiment_id=str(info["experiment_id"]),
                run_name=info.get("run_name") or tags.get("mlflow.runName", ""),
                status=status,
                start_time=int_or_none(info.get("start_time")) or 0,
                end_time=int_or_none(info.get("end_time")) if status != "RUNNING" else None,
                artifact_uri=info.get("artifact_uri"),
                parent_run_id=parent,
            ),
            RunData(
                params={p["key"]: p.get("value", "") for p in data.get("params", [])},
                metrics={m["key"]: metric_of(m).value for m in data.get("metrics", [])},
                tags={
                    k: v
                    for k, v in tags.items()
                    if k not in _HIDDEN_TAGS and not k.startswith(APPLIED_TAG)
                },
            ),
        )

    # -- tables ------------------------------------------------------------------------------

    def list_tables(self, run_id: str) -> list[str]:
        with self._reading("list the run's tables"):
            run = self._find_run(run_id)
            return self.tables.list_tables(self._folder(run)) if run is not None else []

    def read_table(self, run_id: str, artifact_file: str) -> list[Row] | None:
        with self._reading("read the table"):
            run = self._find_run(run_id)
            if run is None:
                return None
            loaded = self.tables.load(self._folder(run), artifact_file)
        return loaded[1] if loaded is not None else None

    # -- lifecycle ---------------------------------------------------------------------------

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            self.after_fork()

    def after_fork(self) -> None:
        self._rest.forget_connections()
        self._writer = _new_writer()
        self.tables.after_fork(self._writer)
        self._lock = threading.Lock()
        self._created = threading.Condition(self._lock)
        for run in self._runs.values():
            run.mine = []  # the child's marker tag is its own
        self._pid = os.getpid()

    def close(self) -> None:
        self._rest.close()

    def describe(self) -> dict[str, Any]:
        server = self._rest.server
        described = {"uri": self.location, "server": server.base_url}
        if server.workspace:
            described["workspace"] = server.workspace
        described["artifacts"] = self.artifacts.describe()
        return described

    @contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Errors of a read raised as StoreError, saying what could not be done."""
        self._check_fork()
        try:
            yield
        except RestError as exc:
            raise StoreError(f"Cannot {what} on {self.location}: {exc}") from None


def _new_writer() -> str:
    return uuid.uuid4().hex[:12]
