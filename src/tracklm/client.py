"""``TracklmClient``: every tracking operation on explicit experiment and run ids.

The fluent functions (``tracklm.log_metric`` ...) are this client applied to the active run.
Writes are validated here, on the caller's thread, then queued to the run manager, which writes
them to the store from its own thread; reads first wait for this process's queued writes, so
what was logged is what is read.

Example::

    client = tracklm.TracklmClient("sqlite:///runs.db")
    run = client.create_run(client.create_experiment("prompts"))
    client.log_metric(run.info.run_id, "accuracy", 0.91)
    client.set_terminated(run.info.run_id)
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tracklm import _config
from tracklm import _validation as check
from tracklm._errors import (
    ExperimentNotFound,
    InvalidValue,
    ParamOverwrite,
    RunNotFound,
    TableNotFound,
    TracklmError,
)
from tracklm._run_manager import manager_for
from tracklm._run_manager.records import (
    PLAIN_TYPES,
    AppendRows,
    CreateExperiment,
    CreateRun,
    LogMetric,
    LogParam,
    SetRunStatus,
    SetTag,
    column_names,
    frame_rows,
    json_value,
)
from tracklm.entities import Experiment, FlushResult, Metric, Run, RunData, RunInfo, RunStatus
from tracklm.stores import _table_files, mask_password
from tracklm.stores._filter import (
    RunEntityFields,
    matches,
    parse_filter,
    parse_order_by,
    sort_runs,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TracklmClient", "experiment_id_for"]

READ_FLUSH_TIMEOUT: Final = 10.0
"""How long a read waits for this process's queued writes before reading what is stored."""

_STATUSES: Final = (RunStatus.RUNNING, RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


def experiment_id_for(name: str) -> str:
    """The id of the experiment named ``name``: derived from the name, so that every process
    and machine agrees on it without asking the store ("0" for "Default", as in MLflow)."""
    if name == _config.DEFAULT_EXPERIMENT_NAME:
        return "0"
    return str(int.from_bytes(hashlib.sha256(name.encode()).digest()[:7], "big"))


class TracklmClient:
    """Tracking operations on a store, by experiment and run id.

    Args:
        tracking_uri: where to store (see :func:`tracklm.set_tracking_uri`); defaults to
            ``tracklm.set_tracking_uri()``, then ``TRACKLM_TRACKING_URI``, then
            ``./tracklm-runs/``.
    """

    def __init__(self, tracking_uri: str | os.PathLike[str] | None = None) -> None:
        from tracklm.stores import resolve_uri

        self.tracking_uri = resolve_uri(
            tracking_uri if tracking_uri is not None else _config.current_tracking_uri()
        )
        self._manager = manager_for(self.tracking_uri)
        self._store = self._manager.store
        self._artifacts = self._store.artifacts
        self._experiment_names: dict[str, str] = {}  # id -> name, for runs we create
        self._params: dict[str, dict[str, str]] = {}  # run id -> params logged here
        self._experiments_of_runs: dict[str, str] = {}  # run id -> experiment id
        self._table_names: dict[Any, str] = {}  # table names already checked
        self._checked_tables: set[tuple[str, str]] = set()  # (run id, table) with no link

    # -- experiments -------------------------------------------------------------------------

    def create_experiment(self, name: str) -> str:
        """Create an experiment and return its id; raises ``ExperimentExists`` if taken."""
        name = _experiment_name(name)
        experiment_id = experiment_id_for(name)
        self._sync()  # an experiment queued by set_experiment() exists already
        self._store.create_experiment(name, experiment_id)
        self._experiment_names[experiment_id] = name
        return experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id; raises ``ExperimentNotFound``."""
        self._sync()
        experiment = self._store.get_experiment(str(experiment_id))
        if experiment is None:
            raise ExperimentNotFound(
                f"No experiment has id {experiment_id!r}; list them with "
                "TracklmClient.list_experiments() or `tracklm experiments`."
            )
        return experiment

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment named ``name``, or None."""
        self._sync()
        return self._store.get_experiment_by_name(name)

    def list_experiments(self) -> list[Experiment]:
        """Every experiment of the store, oldest first."""
        self._sync()
        return self._store.list_experiments()

    def experiment_id_by_name(self, name: str, *, create: bool = True, lookup: bool = True) -> str:
        """The id of the experiment named ``name``, queued for creation if it is new.

        ``lookup=False`` does not read the store, which may keep the caller waiting for a lock
        (autolog, on the application's call path): the id is derived from the name and the
        experiment queued for creation, a no-op if it exists.
        """
        name = _experiment_name(name)
        for known_id, known_name in self._experiment_names.items():
            if known_name == name:
                return known_id
        found: Experiment | None = None
        if lookup:
            try:
                found = self._store.get_experiment_by_name(name)
            except Exception:  # an unreadable store must not stop logging: the journal catches up
                found = None
        experiment_id = found.experiment_id if found else experiment_id_for(name)
        if found is None:
            if not create:
                raise ExperimentNotFound(
                    f"No experiment is named {name!r}; create it with set_experiment({name!r})."
                )
            self._manager.submit(CreateExperiment(experiment_id, name, _now_ms()))
        self._experiment_names[experiment_id] = name
        return experiment_id

    # -- runs --------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
    ) -> Run:
        """Start a run (status RUNNING) in an experiment and return it."""
        experiment_id = str(experiment_id)
        name = self._experiment_names.get(experiment_id)
        if name is None:
            name = self.get_experiment(experiment_id).name
            self._experiment_names[experiment_id] = name
        run_id = uuid.uuid4().hex
        run_name = run_name if run_name is not None else _generated_run_name(run_id)
        if not isinstance(run_name, str):
            raise InvalidValue(f"run_name must be a string, got {run_name!r}.")
        tag_values = {
            check.check_key(k, "tag"): check.tag_value(k, v) for k, v in (tags or {}).items()
        }
        if parent_run_id is not None:
            tag_values["tracklm.parentRunId"] = parent_run_id
        start = _now_ms() if start_time is None else int(start_time)
        self._manager.submit(
            CreateRun(run_id, experiment_id, name, run_name, start, tag_values, parent_run_id)
        )
        self._experiments_of_runs[run_id] = experiment_id
        self._params[run_id] = {}
        info = RunInfo(
            run_id=run_id,
            experiment_id=experiment_id,
            run_name=run_name,
            status=RunStatus.RUNNING,
            start_time=start,
            parent_run_id=parent_run_id,
            artifact_uri=self._store.artifact_uri(experiment_id, run_id),
        )
        return Run(info, RunData(tags=dict(tag_values)))

    def set_terminated(
        self, run_id: str, status: str = RunStatus.FINISHED, end_time: int | None = None
    ) -> None:
        """End a run with ``status`` (FINISHED, FAILED or KILLED)."""
        self._set_status(run_id, status, _now_ms() if end_time is None else int(end_time))

    def update_run_status(self, run_id: str, status: str) -> None:
        """Set a run's status (RUNNING to resume it)."""
        self._set_status(run_id, status, None)

    def _set_status(self, run_id: str, status: str, end_time: int | None) -> None:
        if status not in _STATUSES:
            raise InvalidValue(f"Unknown run status {status!r}; use one of {', '.join(_STATUSES)}.")
        self._known_run(run_id)
        self._manager.submit(SetRunStatus(run_id, status, end_time))

    def get_run(self, run_id: str) -> Run:
        """The run with its params, latest metrics and tags; raises ``RunNotFound``."""
        self._sync()
        run = self._store.get_run(run_id)
        if run is None:
            raise RunNotFound(
                f"No run has id {run_id!r} in {mask_password(self.tracking_uri)}; list runs with "
                "tracklm.search_runs() or `tracklm runs`."
            )
        return run

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        order_by: Sequence[str] | str | None = None,
        max_results: int = 100_000,
    ) -> list[Run]:
        """Runs of the experiments that match ``filter_string``, ordered by ``order_by``.

        The filter grammar is MLflow's: ``"metrics.latency_ms > 500 and params.model =
        'gpt-4o-mini'"``; ``order_by`` like ``["metrics.latency_ms DESC"]``.
        """
        comparisons = parse_filter(filter_string)
        order = parse_order_by(order_by)
        self._sync()
        runs = [
            r
            for r in self._store.list_runs([str(e) for e in experiment_ids])
            if matches(RunEntityFields(r), comparisons)
        ]
        return sort_runs(runs, order, RunEntityFields)[: max(0, int(max_results))]

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every logged value of a metric, by step then time."""
        self._sync()
        return self._store.get_metric_history(run_id, key)

    # -- params, metrics, tags ---------------------------------------------------------------

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        """Log a param; raises ``ParamOverwrite`` if the run has another value for it."""
        key = check.check_key(key, "param")
        text = check.param_value(key, value)
        self._known_run(run_id)
        logged = self._params.setdefault(run_id, {})
        previous = logged.get(key)
        if previous is not None and previous != text:
            raise _param_overwrite(run_id, key, previous, text)
        logged[key] = text
        self._manager.submit(LogParam(run_id, key, text))

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Log one value of a metric at ``step`` (default 0) and ``timestamp`` (ms, default now)."""
        key = check.check_key(key, "metric")
        number = check.metric_value(key, value)
        step_ = 0 if step is None else check.metric_step(step)
        when = check.metric_timestamp(timestamp)
        self._known_run(run_id)
        self._manager.submit(
            LogMetric(run_id, key, number, step_, _now_ms() if when is None else when)
        )

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Set a tag (a later value replaces an earlier one)."""
        key = check.check_key(key, "tag")
        text = check.tag_value(key, value)
        self._known_run(run_id)
        self._manager.submit(SetTag(run_id, key, text))

    def log_batch(
        self,
        run_id: str,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        step: int | None = None,
    ) -> None:
        """Log several metrics, params and tags at once (all checked before any is queued)."""
        metrics, params, tags = metrics or {}, params or {}, tags or {}
        for key, value in metrics.items():
            check.metric_value(check.check_key(key, "metric"), value)
        for key, value in params.items():
            check.param_value(check.check_key(key, "param"), value)
        for key, value in tags.items():
            check.tag_value(check.check_key(key, "tag"), value)
        if metrics:
            check.metric_step(step)
        self._known_run(run_id)
        logged = self._params.get(run_id, {})
        for key, value in params.items():
            previous, text = logged.get(key), check.param_value(key, value)
            if previous is not None and previous != text:
                raise _param_overwrite(run_id, key, previous, text)
        for key, value in params.items():
            self.log_param(run_id, key, value)
        now = _now_ms()
        for key, value in metrics.items():
            self.log_metric(run_id, key, value, step=step, timestamp=now)
        for key, value in tags.items():
            self.set_tag(run_id, key, value)

    # -- tables ------------------------------------------------------------------------------

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Append rows to the run's table ``artifact_file`` (``.csv``, ``.json`` or ``.jsonl``).

        ``data`` is a pandas DataFrame, a dict of equally long columns, or a dict of scalars
        (one row). Rows are appended; a new column leaves earlier rows empty in it.
        """
        name = self._table_names.get(artifact_file)
        if name is None:
            name = _table_files.check_table_file(check.artifact_path(artifact_file))
            if isinstance(artifact_file, str) and len(self._table_names) < 10_000:
                self._table_names[artifact_file] = name
        if (run_id, name) not in self._checked_tables:
            # refuses a link out of the run's folder planted where the file goes
            self._artifacts.check_path(self._known_run(run_id), run_id, name)
            self._checked_tables.add((run_id, name))
        # plain JSON values now: a cell the caller changes later (a list, a dict) is not logged
        self._manager.submit(AppendRows(run_id, name, _table_rows(data)))

    def list_tables(self, run_id: str) -> list[str]:
        """The names of the run's tables (their ``artifact_file``)."""
        self._sync()
        return self._store.list_tables(run_id)

    def log_rows(
        self, run_id: str, rows: list[dict[str, Any]], artifact_file: str, *, block: bool = True
    ) -> bool:
        """Append rows given as dicts (for integrations: no copy, nothing checked)."""
        return self._manager.submit(AppendRows(run_id, artifact_file, rows), block=block)

    def load_table(
        self,
        experiment_id: str | None,
        artifact_file: str,
        run_ids: Sequence[str] | None = None,
        extra_columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The table ``artifact_file`` of the given runs (or every run of the experiment),
        concatenated oldest run first; ``extra_columns=["run_id"]`` adds the run id column."""
        artifact_file = check.artifact_path(artifact_file)
        extra = list(extra_columns or [])
        unknown = [c for c in extra if c != "run_id"]
        if unknown:
            raise InvalidValue(f"extra_columns supports only 'run_id', got {unknown}.")
        self._sync()
        if run_ids is None:
            if experiment_id is None:
                raise InvalidValue("Give load_table an experiment id or run ids.")
            runs = sorted(
                self._store.list_runs([str(experiment_id)]),
                key=lambda r: (r.info.start_time, r.info.run_id),
            )
            ids = [r.info.run_id for r in runs]
        else:
            ids = [str(r) for r in run_ids]
        # one frame of every run's rows, not one per run concatenated: pandas 2 warns when
        # it concatenates a frame whose column is all empty (a run's calls without ttft_ms)
        every: list[dict[str, Any]] = []
        found = False
        for run_id in ids:
            rows = self._store.read_table(run_id, artifact_file)
            if rows is None:
                continue
            found = True
            if "run_id" in extra:
                for row in rows:  # the store's rows are fresh dicts, made for this read
                    row["run_id"] = run_id
            every.extend(rows)
        if not found:
            raise TableNotFound(
                f"None of the {len(ids)} selected runs has a table {artifact_file!r}. "
                "Check the name (tables keep the suffix they were logged with) and the runs."
            )
        return _table_frame(every)

    # -- artifacts ---------------------------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a local file (or a folder's files) into the run's artifacts, now."""
        source = Path(local_path)
        if not source.exists():
            raise InvalidValue(f"log_artifact: {str(source)!r} does not exist.")
        folder = check.artifact_dir(artifact_path)
        relative = check.artifact_path(f"{folder}/{source.name}" if folder else source.name)
        self._artifacts.copy_in(self._known_run(run_id), run_id, source, relative)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` as the artifact file ``artifact_file`` (UTF-8)."""
        if not isinstance(text, str):
            raise InvalidValue(f"log_text needs a str, got {type(text).__name__}.")
        relative = check.artifact_path(artifact_file)
        self._artifacts.write_bytes(self._known_run(run_id), run_id, relative, text.encode())

    def log_dict(self, run_id: str, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        """Write a dict as JSON (or YAML for ``.yaml``/``.yml`` where PyYAML is installed)."""
        relative = check.artifact_path(artifact_file)
        if relative.endswith((".yaml", ".yml")):
            import yaml  # type: ignore[import-untyped]

            text = yaml.safe_dump(dict(dictionary), sort_keys=False, allow_unicode=True)
        else:
            text = json.dumps(dictionary, indent=2, ensure_ascii=False, default=str)
        self.log_text(run_id, text, relative)

    def list_artifacts(self, run_id: str) -> list[str]:
        """The run's artifact files, as relative paths."""
        self._sync()
        return self._artifacts.list_files(self._known_run(run_id), run_id)

    def read_artifact(self, run_id: str, artifact_file: str) -> bytes:
        """The content of one of the run's artifact files (from a folder or an object store)."""
        self._sync()
        relative = check.artifact_path(artifact_file)
        return self._artifacts.read_bytes(self._known_run(run_id), run_id, relative)

    def artifact_uri(self, run_id: str) -> str:
        """The URI of the run's artifact folder (``file://...``, ``s3://...``)."""
        return self._store.artifact_uri(self._known_run(run_id), run_id)

    def artifact_dir(self, run_id: str) -> Path:
        """The local folder of the run's artifacts; raises StoreError for an object store."""
        return self._store.artifact_dir(self._known_run(run_id), run_id)

    def _known_run(self, run_id: str) -> str:
        """The experiment id of ``run_id``; raises ``RunNotFound`` for an unknown run.

        A run this client did not create is read from the store once, with its params, so
        that ``ParamOverwrite`` also guards params logged by other clients and processes.
        """
        experiment_id = self._experiments_of_runs.get(run_id)
        if experiment_id is None:
            run = self.get_run(run_id)
            experiment_id = run.info.experiment_id
            self._params[run_id] = {**run.data.params, **self._params.get(run_id, {})}
            self._experiments_of_runs[run_id] = experiment_id
        return experiment_id

    # -- delivery ----------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> FlushResult:
        """Wait until everything logged so far is in the store, for at most ``timeout``
        seconds (without one: until each record is in the store or the journal); see
        :func:`tracklm.flush`."""
        return self._manager.flush(timeout)

    def _sync(self) -> None:
        # records the store refuses stay journaled: a read does not wait for the store to
        # take them (a read-only store never would)
        self._manager.flush(READ_FLUSH_TIMEOUT, retry=False)


def _param_overwrite(run_id: str, key: str, previous: str, text: str) -> ParamOverwrite:
    return ParamOverwrite(
        f"Param {key!r} of run {run_id} is {previous!r} already; it cannot become "
        f"{text!r}. Params are fixed once logged: log the new value under another key, "
        "as a tag, or in a new run."
    )


def _experiment_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > check.MAX_KEY_LENGTH:
        raise InvalidValue(
            f"An experiment name must be a non-empty string of at most {check.MAX_KEY_LENGTH} "
            f"characters, got {name!r}."
        )
    return name


def _table_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A table's rows as a DataFrame, whatever text they hold."""
    import pandas as pd

    frame: pd.DataFrame
    try:
        frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    except UnicodeEncodeError:
        # pandas 3 keeps text in pyarrow where it is installed, and pyarrow refuses lone
        # surrogates (text decoded with errors="surrogateescape", say): a column holding one
        # keeps Python strings instead
        columns = column_names(rows)
        frame = pd.DataFrame({name: _series([row.get(name) for row in rows]) for name in columns})
    return frame


def _series(values: list[Any]) -> pd.Series[Any]:
    import pandas as pd

    series: pd.Series[Any]
    try:
        series = pd.Series(values)
    except UnicodeEncodeError:
        series = pd.Series(values, dtype=object)
    return series


def _table_rows(data: Any) -> list[dict[str, Any]]:
    """Check a table's shape and column names, and turn it into rows of plain JSON values.

    A cell that cannot be turned into one (its ``str()`` raises) is refused with InvalidValue.
    """
    try:
        return _rows_of(data)
    except TracklmError:
        raise
    except Exception as exc:
        raise InvalidValue(
            f"log_table could not turn a cell into a value to store ({exc!r}); log text, "
            "numbers, booleans, lists or dicts of them."
        ) from exc


def _rows_of(data: Any) -> list[dict[str, Any]]:
    """:func:`_table_rows` without its error handling.

    Done on the caller's thread, so that what the caller changes afterwards (a list in a
    cell) is not what gets stored; one pass, since this is a hot path of autolog-like code.
    """
    if type(data) is dict:
        row = _one_row(data)
        if row is not None:
            return [row]
    if isinstance(data, Mapping):
        columns: list[tuple[str, Any]] = []
        scalars: list[tuple[str, Any]] = []
        length = -1
        for key, value in data.items():
            check.check_key(key, "table column")
            if isinstance(value, (list, tuple)) or (
                hasattr(value, "__len__") and hasattr(value, "dtype")  # numpy arrays, Series
            ):
                if length not in (-1, len(value)):
                    raise InvalidValue(
                        "log_table got columns of different lengths; give a dict of equally "
                        "long lists, a dict of scalars (one row), or a pandas DataFrame."
                    )
                length = len(value)
                columns.append((key, value))
            else:
                scalars.append((key, value))
        if columns and scalars:
            raise InvalidValue(
                "log_table got a mix of lists and single values; give every column as a list "
                "of the same length, or every value as a single value (one row)."
            )
        plain = PLAIN_TYPES
        if not columns:
            return [{k: v if type(v) in plain else json_value(v) for k, v in scalars}]
        return [
            {k: v if type(v := column[i]) in plain else json_value(v) for k, column in columns}
            for i in range(length)
        ]
    if hasattr(data, "columns") and hasattr(data, "index"):
        names = [check.check_key(str(key), "table column") for key in data.columns]
        if len(set(names)) < len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise InvalidValue(
                f"log_table got a DataFrame with columns named alike: {twice}; a row holds "
                "one value per name, so rename them."
            )
        return frame_rows(data)
    raise InvalidValue(
        f"log_table needs a pandas DataFrame or a dict of columns, got {type(data).__name__}."
    )


def _one_row(data: dict[Any, Any]) -> dict[str, Any] | None:
    """The row of the usual call, a dict of one-element lists of plain values under column
    names checked before, without :func:`_rows_of`'s general checks; None for any other."""
    plain, known = PLAIN_TYPES, check.known_keys()
    row = {}
    for key, value in data.items():
        if (
            type(value) is not list
            or len(value) != 1
            or type(cell := value[0]) not in plain
            or key not in known
        ):
            return None
        row[key] = cell
    return row


_ADJECTIVES: Final = (
    "amber",
    "brisk",
    "calm",
    "deft",
    "eager",
    "fond",
    "glad",
    "keen",
    "lucid",
    "merry",
    "nimble",
    "quiet",
    "rapid",
    "sunny",
    "tidy",
    "vivid",
)
_NOUNS: Final = (
    "otter",
    "heron",
    "maple",
    "comet",
    "falcon",
    "lynx",
    "cedar",
    "dune",
    "ember",
    "fjord",
    "grove",
    "harbor",
    "iris",
    "juniper",
    "koi",
    "lark",
)


def _generated_run_name(run_id: str) -> str:
    """A readable name derived from the run id, like ``brisk-heron-417``."""
    n = int(run_id[:8], 16)
    return f"{_ADJECTIVES[n % 16]}-{_NOUNS[(n >> 4) % 16]}-{(n >> 8) % 1000}"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
