"""What one batch asks of a store, worked out once for every store.

The records of a batch are applied in one transaction, with the result of applying them in
order: params keep their first value, a tag its last, a metric's latest value is the one of
the highest step, then the latest timestamp (the later record on a tie), table rows keep
their order. :func:`plan` reduces a batch to those results before any SQL runs, and sorts what
takes row locks by key, so that concurrent writers on a server lock rows in one order and
cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tracklm._run_manager.records import (
    AppendRows,
    CreateExperiment,
    CreateRun,
    LogMetric,
    LogParam,
    Record,
    Row,
    SetRunStatus,
    SetTag,
)


@dataclass
class BatchPlan:
    """A batch's writes, in the order a store applies them."""

    experiments: list[CreateExperiment] = field(default_factory=list)
    runs: list[CreateRun] = field(default_factory=list)
    params: list[tuple[str, str, str]] = field(default_factory=list)
    """(run_id, key, value): the first value of each key in the batch, sorted."""
    tags: list[tuple[str, str, str]] = field(default_factory=list)
    """(run_id, key, value): the last value of each key in the batch, sorted."""
    metrics: list[LogMetric] = field(default_factory=list)
    """Every metric value, in order (the history)."""
    latest: list[LogMetric] = field(default_factory=list)
    """The batch's latest value of each (run_id, key), sorted."""
    tables: list[tuple[str, str, list[Row]]] = field(default_factory=list)
    """(run_id, artifact_file, rows in order), sorted by table."""
    statuses: list[SetRunStatus] = field(default_factory=list)
    """In order for each run, sorted by run."""


def plan(records: Sequence[Record]) -> BatchPlan:
    """Reduce ``records`` to the writes that leave the store as applying them in order would."""
    out = BatchPlan()
    params: dict[tuple[str, str], str] = {}
    tags: dict[tuple[str, str], str] = {}
    latest: dict[tuple[str, str], LogMetric] = {}
    tables: dict[tuple[str, str], list[Row]] = {}
    for record in records:
        if isinstance(record, LogMetric):
            out.metrics.append(record)
            key = (record.run_id, record.key)
            best = latest.get(key)
            if best is None or (record.step, record.timestamp) >= (best.step, best.timestamp):
                latest[key] = record
        elif isinstance(record, AppendRows):
            rows = tables.get((record.run_id, record.artifact_file))
            if rows is None:
                tables[(record.run_id, record.artifact_file)] = list(record.rows)
            else:
                rows.extend(record.rows)
        elif isinstance(record, LogParam):
            params.setdefault((record.run_id, record.key), record.value)
        elif isinstance(record, SetTag):
            tags[(record.run_id, record.key)] = record.value
        elif isinstance(record, CreateRun):
            out.runs.append(record)
            for k, v in record.tags.items():
                tags[(record.run_id, k)] = v
        elif isinstance(record, CreateExperiment):
            out.experiments.append(record)
        elif isinstance(record, SetRunStatus):
            out.statuses.append(record)
    out.params = [(r, k, v) for (r, k), v in sorted(params.items())]
    out.tags = [(r, k, v) for (r, k), v in sorted(tags.items())]
    out.latest = [latest[key] for key in sorted(latest)]
    out.tables = [(r, f, rows) for (r, f), rows in sorted(tables.items())]
    out.statuses.sort(key=lambda s: s.run_id)  # stable: one run's changes keep their order
    return out
