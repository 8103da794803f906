"""The objects tracklm hands back: experiments, runs, metrics and flush results.

They follow MLflow's shape on purpose, so code written against ``mlflow.entities`` reads the
same: ``run.info.run_id``, ``run.data.params``, ``experiment.name``. All are immutable
snapshots; read the store again (``tracklm.get_run``) to see later changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "ACTIVE_STATUSES",
    "Experiment",
    "FlushResult",
    "Metric",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "TERMINAL_STATUSES",
]


class RunStatus:
    """The statuses a run can have (strings, as MLflow stores them)."""

    RUNNING: Final = "RUNNING"
    FINISHED: Final = "FINISHED"
    FAILED: Final = "FAILED"
    KILLED: Final = "KILLED"


ACTIVE_STATUSES: Final = frozenset({RunStatus.RUNNING})
TERMINAL_STATUSES: Final = frozenset({RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED})


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    experiment_id: str
    name: str
    creation_time: int | None = None
    """Milliseconds since the epoch."""
    artifact_location: str | None = None


@dataclass(frozen=True)
class Metric:
    """One logged value of a metric: its key, value, step and time (ms since the epoch)."""

    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True)
class RunInfo:
    """Identity and lifecycle of a run; times are milliseconds since the epoch."""

    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_time: int
    end_time: int | None = None
    artifact_uri: str | None = None
    parent_run_id: str | None = None


@dataclass(frozen=True)
class RunData:
    """What was logged into a run: params, the latest value of each metric, and tags."""

    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """A run: its :class:`RunInfo` and its :class:`RunData`."""

    info: RunInfo
    data: RunData = field(default_factory=RunData)


@dataclass(frozen=True)
class FlushResult:
    """What :func:`tracklm.flush` found: counts of records since this process started.

    ``written`` records reached the store; ``pending`` are not in it yet (still buffered, or
    kept in the on-disk journal until the store takes writes again); ``dropped`` were lost
    (the buffer was full, or the process could neither write nor journal them).
    """

    written: int
    pending: int
    dropped: int

    @property
    def ok(self) -> bool:
        """True when every record so far is in the store."""
        return self.pending == 0 and self.dropped == 0
