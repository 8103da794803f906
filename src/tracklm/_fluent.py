"""The fluent tracking API: module-level functions acting on the active run.

Each function goes through the default :class:`TracklmClient` of the current tracking URI, so
the fluent API and the client share one path. Runs started here and never ended are ended
FINISHED at exit, as MLflow does.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tracklm import _config, _run_manager
from tracklm._context import active_runs
from tracklm._errors import NoActiveRun, RunAlreadyActive
from tracklm.client import TracklmClient
from tracklm.entities import Experiment, FlushResult, Run, RunData, RunInfo, RunStatus

if TYPE_CHECKING:
    import pandas as pd

_clients: dict[str, TracklmClient] = {}
_clients_lock = threading.Lock()
_open_runs: dict[str, ActiveRun] = {}  # started here and not ended: ended at exit


class ActiveRun:
    """The run returned by :func:`start_run`; a context manager that ends it.

    Leaving the ``with`` block normally ends the run FINISHED; an exception ends it FAILED
    (KILLED for ``KeyboardInterrupt``) and is not swallowed.
    """

    def __init__(self, run: Run, client: TracklmClient) -> None:
        self._run = run
        self._client = client

    @property
    def info(self) -> RunInfo:
        return self._run.info

    @property
    def data(self) -> RunData:
        return self._run.data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        _end(self, status)

    def __repr__(self) -> str:
        return f"<ActiveRun run_id={self.info.run_id!r} run_name={self.info.run_name!r}>"


# -- configuration -------------------------------------------------------------------------


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Choose where runs are stored: a folder, ``sqlite:///file.db``,
    ``postgresql://user:password@host:5432/database``; None for the default.

    Overrides ``TRACKLM_TRACKING_URI``. The default is ``./tracklm-runs/``.
    """
    _config.tracking_uri = os.fspath(uri) if uri is not None else None


def get_tracking_uri() -> str:
    """The normalized tracking URI in use."""
    return _client().tracking_uri


def set_experiment(experiment_name: str) -> Experiment:
    """Make ``experiment_name`` the current experiment (created if new) and return it."""
    client = _client()
    experiment_id = client.experiment_id_by_name(experiment_name)
    _config.experiment_name = experiment_name
    return Experiment(experiment_id=experiment_id, name=experiment_name)


def _client() -> TracklmClient:
    uri = _config.current_tracking_uri()
    key = uri or ""
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = TracklmClient(uri)
                _clients[key] = client
    return client


# -- runs ----------------------------------------------------------------------------------


def start_run(
    run_id: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    nested: bool = False,
    experiment_name: str | None = None,
) -> ActiveRun:
    """Start a run in the current experiment (or resume ``run_id``) and make it active.

    Use it as a context manager::

        with tracklm.start_run(run_name="baseline", tags={"team": "search"}) as run:
            tracklm.log_param("model", "gpt-4o-mini")

    A run started while another is active in this context must say ``nested=True``; it then
    records the active run as its parent.
    """
    stack = active_runs.get()
    if stack and not nested:
        raise RunAlreadyActive(
            f"Run {stack[-1].info.run_id} is already active. End it with tracklm.end_run(), "
            "or pass nested=True to start a child run."
        )
    client = _client()
    if run_id is not None:
        run = client.get_run(run_id)
        client.update_run_status(run_id, RunStatus.RUNNING)
        run = dataclasses.replace(
            run, info=dataclasses.replace(run.info, status=RunStatus.RUNNING, end_time=None)
        )
        for key, value in (tags or {}).items():
            client.set_tag(run_id, key, value)
    else:
        experiment_id = client.experiment_id_by_name(
            experiment_name or _config.current_experiment_name()
        )
        parent = stack[-1].info.run_id if stack else None
        run = client.create_run(experiment_id, run_name=run_name, tags=tags, parent_run_id=parent)
    active = ActiveRun(run, client)
    active_runs.set((*stack, active))
    _open_runs[run.info.run_id] = active
    return active


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run of this context with ``status``; nothing happens if none is active."""
    stack = active_runs.get()
    if stack:
        _end(stack[-1], status)


def _end(run: ActiveRun, status: str) -> None:
    if run.info.run_id in _open_runs:
        # first: a bad status raises here, and the run stays active
        run._client.set_terminated(run.info.run_id, status)
        _open_runs.pop(run.info.run_id, None)
    stack = active_runs.get()
    if run in stack:
        active_runs.set(tuple(r for r in stack if r is not run))


def active_run() -> ActiveRun | None:
    """The active run of this context (thread or task), or None."""
    stack = active_runs.get()
    return stack[-1] if stack else None


def _run_id() -> tuple[TracklmClient, str]:
    stack = active_runs.get()
    if stack:
        return stack[-1]._client, stack[-1].info.run_id
    raise NoActiveRun(
        "No run is active in this context. Start one with `with tracklm.start_run(): ...`, "
        "or, in a worker thread, wrap the function with tracklm.carry_context()."
    )


def get_run(run_id: str) -> Run:
    """The run ``run_id`` with its params, latest metrics and tags."""
    return _client().get_run(run_id)


# -- logging -------------------------------------------------------------------------------


def log_param(key: str, value: Any) -> Any:
    """Log a param of the active run and return ``value``."""
    client, run_id = _run_id()
    client.log_param(run_id, key, value)
    return value


def log_params(params: Mapping[str, Any]) -> None:
    """Log several params of the active run."""
    client, run_id = _run_id()
    client.log_batch(run_id, params=params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log a metric value of the active run at ``step`` (default 0) and ``timestamp`` (ms)."""
    client, run_id = _run_id()
    client.log_metric(run_id, key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log several metric values of the active run at one step."""
    client, run_id = _run_id()
    client.log_batch(run_id, metrics=metrics, step=step)


def set_tag(key: str, value: Any) -> None:
    """Set a tag of the active run."""
    client, run_id = _run_id()
    client.set_tag(run_id, key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags of the active run."""
    client, run_id = _run_id()
    client.log_batch(run_id, tags=tags)


def log_table(data: Any, artifact_file: str) -> None:
    """Append rows (a DataFrame or a dict of columns) to a table of the active run."""
    client, run_id = _run_id()
    client.log_table(run_id, data, artifact_file)


def load_table(
    artifact_file: str,
    run_ids: Sequence[str] | None = None,
    extra_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The table ``artifact_file`` of every run of the current experiment (or of ``run_ids``)
    as one DataFrame; ``extra_columns=["run_id"]`` says which run each row came from."""
    client = _client()
    experiment_id = None
    if run_ids is None:
        active = active_run()
        experiment_id = (
            active.info.experiment_id
            if active is not None
            else client.experiment_id_by_name(_config.current_experiment_name(), create=False)
        )
    return client.load_table(experiment_id, artifact_file, run_ids, extra_columns)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy a local file or folder into the active run's artifacts (under ``artifact_path``)."""
    client, run_id = _run_id()
    client.log_artifact(run_id, local_path, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    """Write text as an artifact file of the active run."""
    client, run_id = _run_id()
    client.log_text(run_id, text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    """Write a dict as a JSON (or YAML) artifact file of the active run."""
    client, run_id = _run_id()
    client.log_dict(run_id, dictionary, artifact_file)


def flush(timeout: float | None = None) -> FlushResult:
    """Wait until everything logged so far is in the store, for at most ``timeout`` seconds.

    Records the store refused meanwhile (another process held its lock) are retried every
    50 ms until then. Without a timeout, returns once each record is in the store or, while
    the store refuses writes, safe in the journal. Returns what was written, what is still
    pending (buffered, or kept in the journal) and what was dropped, since this process
    started.
    """
    return _client().flush(timeout)


# -- search --------------------------------------------------------------------------------


def search_runs(
    experiment_names: Sequence[str] | None = None,
    filter_string: str = "",
    order_by: Sequence[str] | str | None = None,
    max_results: int = 100_000,
    experiment_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Runs as a DataFrame in MLflow's shape: ``run_id``, ``experiment_id``, ``run_name``,
    ``status``, ``start_time``, ``end_time``, ``artifact_uri``, then ``params.*``,
    ``metrics.*`` (latest values) and ``tags.*``.

    Example::

        tracklm.search_runs(filter_string="metrics.latency_ms > 800 and params.model LIKE 'gpt%'",
                            order_by=["metrics.latency_ms DESC"])
    """
    from tracklm._search_frame import runs_frame

    client = _client()
    ids = list(experiment_ids or [])
    names = [] if experiment_ids else list(experiment_names or [_config.current_experiment_name()])
    for name in names:
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            ids.append(experiment.experiment_id)
    runs = client.search_runs(ids, filter_string, order_by, max_results)
    return runs_frame(runs)


def _reset() -> None:
    """Forget the configuration and active runs of this process (for tests)."""
    _config.tracking_uri = _config.experiment_name = None
    _clients.clear()
    _open_runs.clear()
    active_runs.set(())


def _end_open_runs_at_exit() -> None:
    for run in list(_open_runs.values()):
        _end(run, RunStatus.FINISHED)


_run_manager.before_exit(_end_open_runs_at_exit)
# A forked child may log into the runs its parent started, but they stay the parent's to end:
# the child's exit (or a `with` block it leaves) must not end them under the parent.
os.register_at_fork(after_in_child=_open_runs.clear)
