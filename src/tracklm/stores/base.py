"""The interface every store implements.

A store holds experiments, runs (params, metrics with history, tags), tables and artifacts.
Writes arrive only as :class:`~tracklm._run_manager.records.Batch` objects from the run
manager's flusher thread: :meth:`Store.write_batch` applies one atomically, and skips a batch
whose id it already holds, so a journal replayed twice writes nothing twice. Everything else
is a read. Artifact files live in the store's :class:`ArtifactRepository` (``store.artifacts``),
which the client writes on the caller's thread and the store writes tables' files to.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tracklm._errors import InvalidValue, StoreError
from tracklm._run_manager.records import Batch, Row
from tracklm.entities import Experiment, Metric, Run
from tracklm.stores.artifacts import ArtifactRepository

FACET_COLUMNS: Final = ("status", "model", "operation")
"""The columns of a table that :meth:`Store.query_table` filters on and
:meth:`Store.table_facets` counts (a predictions table's ``status``, ``model``,
``operation``)."""

JOIN_COLUMN: Final = "inputs"
"""The column :meth:`Store.join_tables` matches rows of several runs on."""

MAX_FACET_CHARS: Final = 200
"""Longer values are not facet values: they are not counted, and no filter matches them."""


@dataclass(frozen=True)
class TablePage:
    """One page of a table's rows: ``(row number, row)`` pairs, and how many rows matched."""

    rows: list[tuple[int, Row]]
    total: int


@dataclass(frozen=True)
class JoinedRows:
    """The rows of several runs' tables that hold one same ``inputs`` value.

    ``rows[i]`` holds the first rows (``(row number, row)``) of the i-th run with that value,
    ``counts[i]`` how many of its rows have it.
    """

    inputs: Any
    rows: list[list[tuple[int, Row]]]
    counts: list[int]


@dataclass(frozen=True)
class TableJoin:
    """One page of :meth:`Store.join_tables`: groups of rows, and how many groups matched."""

    groups: list[JoinedRows]
    total: int


@dataclass(frozen=True)
class MetricSample:
    """A metric's history thinned for a chart: at most ``max_points`` of its ``total`` values,
    keeping each bucket's first, last, lowest and highest (NaN values are left out)."""

    points: list[Metric]
    total: int


@dataclass(frozen=True)
class ExperimentSummary:
    """An experiment with its number of runs and its last activity (ms, None without runs):
    the latest start or end of its runs."""

    experiment: Experiment
    run_count: int
    last_activity: int | None


class StoreUnavailable(Exception):
    """The store cannot take writes right now (locked, read-only, full, unreachable).

    Raised by :meth:`Store.write_batch`; the run manager journals the batch and retries.
    """


class Store(ABC):
    """Persistence for experiments, runs, tables and artifacts."""

    uri: str
    """The tracking URI this store was opened from, normalized, without any password: safe
    to show, and the key of the store's journal folder."""

    artifacts: ArtifactRepository
    """Where the runs' artifact files (and each table's file) go."""

    max_batch_records: int = 5_000
    """The most records the run manager puts in one :meth:`write_batch` (it may put fewer)."""

    # -- writes (flusher thread) -------------------------------------------------------------

    @abstractmethod
    def write_batch(self, batch: Batch) -> None:
        """Apply every record of ``batch`` in one transaction, or none of them.

        Raises :class:`StoreUnavailable` when the store cannot take writes now.
        """

    # -- experiments -------------------------------------------------------------------------

    @abstractmethod
    def create_experiment(self, name: str, experiment_id: str) -> Experiment:
        """Create an experiment; raise ``ExperimentExists`` if the name is taken."""

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment | None: ...

    @abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    @abstractmethod
    def list_experiments(self) -> list[Experiment]: ...

    # -- runs --------------------------------------------------------------------------------

    @abstractmethod
    def get_run(self, run_id: str) -> Run | None: ...

    @abstractmethod
    def list_runs(self, experiment_ids: Sequence[str]) -> list[Run]:
        """Every run of the experiments, with params, latest metrics and tags."""

    @abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]: ...

    # -- tables ------------------------------------------------------------------------------

    @abstractmethod
    def list_tables(self, run_id: str) -> list[str]:
        """The ``artifact_file`` names of the run's tables."""

    @abstractmethod
    def read_table(self, run_id: str, artifact_file: str) -> list[Row] | None:
        """The rows of a run's table in the order they were logged, or None if it has none."""

    # -- reads for browsing (each has a default over the reads above; SQL stores query) -----

    def experiment_summaries(self) -> list[ExperimentSummary]:
        """Every experiment, oldest first, with its run count and last activity."""
        summaries = []
        for experiment in self.list_experiments():
            runs = self.list_runs([experiment.experiment_id])
            last = max((r.info.end_time or r.info.start_time for r in runs), default=None)
            summaries.append(ExperimentSummary(experiment, len(runs), last))
        return summaries

    def query_table(
        self,
        run_id: str,
        artifact_file: str,
        *,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        filters: Mapping[str, str] | None = None,
        descending: bool = False,
    ) -> TablePage | None:
        """A page of a run's table, or None if the run has no such table.

        ``filters`` maps columns of :data:`FACET_COLUMNS` to the value they must hold;
        ``search`` keeps rows one of whose cells holds the text, ignoring the case of ASCII
        letters (a cell that is not text is searched as its JSON). Row numbers count from 0 in
        the order rows were logged; ``descending`` pages from the last row.
        """
        equal = _checked_filters(filters)
        rows = self.read_table(run_id, artifact_file)
        if rows is None:
            return None
        numbered = list(enumerate(rows))
        if descending:
            numbered.reverse()
        needle = _fold(search) if search else None
        matched = [
            (n, row)
            for n, row in numbered
            if all(_facet_value(row.get(c)) == v for c, v in equal.items())
            and (needle is None or row_holds_text(row, needle))
        ]
        start = max(0, offset)
        return TablePage(matched[start : start + max(0, limit)], len(matched))

    def table_facets(
        self, run_id: str, artifact_file: str, limit: int = 100
    ) -> dict[str, list[tuple[str, int]]]:
        """For each column of :data:`FACET_COLUMNS` the table has, its values and how many
        rows hold each, the most frequent first (at most ``limit``)."""
        counts: dict[str, dict[str, int]] = {c: {} for c in FACET_COLUMNS}
        for row in self.read_table(run_id, artifact_file) or []:
            for column in FACET_COLUMNS:
                value = _facet_value(row.get(column))
                if value is not None:
                    counts[column][value] = counts[column].get(value, 0) + 1
        return {c: _most_frequent(found, limit) for c, found in counts.items() if found}

    def join_tables(
        self,
        run_ids: Sequence[str],
        artifact_file: str,
        *,
        offset: int = 0,
        limit: int = 20,
        in_all: bool = False,
        rows_per_run: int = 3,
    ) -> TableJoin:
        """Group the rows of several runs' tables by their ``inputs`` value (rows without one
        are left out), so that the same prompt's outputs can be set side by side.

        Groups come in the order of their first row, the first run's rows first; ``in_all``
        keeps only the values every run holds.
        """
        groups: dict[str, tuple[Any, list[list[tuple[int, Row]]]]] = {}
        for i, run_id in enumerate(run_ids):
            for n, row in enumerate(self.read_table(run_id, artifact_file) or []):
                key = input_key(row.get(JOIN_COLUMN))
                if key is None:
                    continue
                if key not in groups:
                    groups[key] = (row[JOIN_COLUMN], [[] for _ in run_ids])
                groups[key][1][i].append((n, row))
        found = [
            JoinedRows(value, [r[:rows_per_run] for r in rows], [len(r) for r in rows])
            for value, rows in groups.values()
            if not in_all or all(rows)
        ]
        start = max(0, offset)
        return TableJoin(found[start : start + max(0, limit)], len(found))

    def sample_metric_history(
        self,
        run_id: str,
        key: str,
        max_points: int = 1000,
        *,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> MetricSample:
        """A metric's history (between the steps given, inclusive) thinned for a chart."""
        history = [
            m
            for m in self.get_metric_history(run_id, key)
            if (min_step is None or m.step >= min_step) and (max_step is None or m.step <= max_step)
        ]
        return MetricSample(downsample(history, max_points), len(history))

    # -- artifacts ---------------------------------------------------------------------------

    def artifact_dir(self, experiment_id: str, run_id: str) -> Path:
        """The local folder of the run's artifacts (it may not exist yet).

        Raises StoreError when the artifact root is not a local or mounted path.
        """
        folder = self.artifacts.local_dir(experiment_id, run_id)
        if folder is None:
            raise StoreError(
                f"The artifacts of run {run_id} are at {self.artifact_uri(experiment_id, run_id)}"
                ", not in a local folder; read them with TracklmClient.list_artifacts() and "
                "load_table(), or with fsspec."
            )
        return folder

    def artifact_uri(self, experiment_id: str, run_id: str) -> str:
        return self.artifacts.run_uri(experiment_id, run_id)

    def sync_files(self, force: bool = False) -> None:  # noqa: B027 - optional hook
        """Write the table files whose rewrite was put off (object stores); all if ``force``.

        The run manager calls it after its writes, at ``flush()`` (``force``) and at exit.
        """

    # -- lifecycle ---------------------------------------------------------------------------

    def after_fork(self) -> None:  # noqa: B027 - optional hook
        """In a forked child: forget connections inherited from the parent."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def describe(self) -> dict[str, Any]:
        """Where the data lives, for people (the CLI and the demo print it); no secrets."""
        return {"uri": self.uri, "artifacts": self.artifacts.describe()}


# -- helpers the stores share ----------------------------------------------------------------


def input_key(value: Any) -> str | None:
    """A short digest of an ``inputs`` cell: rows with equal inputs have equal keys."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def facet_value(value: Any) -> str | None:
    """``value`` as a facet value: short text a database can hold, else None."""
    return _facet_value(value)


def _facet_value(value: Any) -> str | None:
    if type(value) is not str or len(value) > MAX_FACET_CHARS or "\x00" in value:
        return None
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate
            return None
    return value


_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def row_holds_text(row: Row, folded_needle: str) -> bool:
    """Whether a cell of ``row`` holds the text (already ASCII-lower-cased)."""
    for value in row.values():
        text = value if isinstance(value, str) else json.dumps(value)
        if folded_needle in _fold(text):
            return True
    return False


def _checked_filters(filters: Mapping[str, str] | None) -> dict[str, str]:
    equal = dict(filters or {})
    unknown = sorted(set(equal) - set(FACET_COLUMNS))
    if unknown:
        raise InvalidValue(
            f"A table can be filtered on {', '.join(FACET_COLUMNS)} only, not on "
            f"{', '.join(unknown)}; use the text search for other columns."
        )
    return equal


def _most_frequent(counts: Mapping[str, int], limit: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: max(0, limit)]


def downsample(points: Sequence[Metric], max_points: int) -> list[Metric]:
    """At most ``max_points`` of ``points``, in order, for a chart (:func:`downsample_points`)."""
    kept = downsample_points([(m.step, m.timestamp, m.value) for m in points], max_points)
    key = points[0].key if points else ""
    return [Metric(key, value, step, ts) for step, ts, value in kept]


def downsample_points(
    points: Sequence[tuple[int, int, float]], max_points: int
) -> list[tuple[int, int, float]]:
    """At most ``max_points`` of ``(step, timestamp, value)`` points, in order, for a chart.

    The points are cut into buckets of equal count, and each bucket keeps its first, lowest,
    highest and last point, so that peaks and dips show at any zoom. NaN values are left out.
    """
    finite = [p for p in points if p[2] == p[2]]  # NaN is the one value unequal to itself
    if len(finite) <= max_points:
        return finite
    buckets = max(1, max_points // 4)
    size = len(finite) / buckets
    kept: list[tuple[int, int, float]] = []
    for b in range(buckets):
        start, end = int(b * size), int((b + 1) * size)
        if start >= end:
            continue
        values = [p[2] for p in finite[start:end]]
        low = start + values.index(min(values))
        high = start + values.index(max(values))
        for i in sorted({start, low, high, end - 1}):
            kept.append(finite[i])
    return kept
