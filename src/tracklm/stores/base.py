"""The interface every store implements.

A store holds experiments, runs (params, metrics with history, tags), tables and artifacts.
Writes arrive only as :class:`~tracklm._run_manager.records.Batch` objects from the run
manager's flusher thread: :meth:`Store.write_batch` applies one atomically, and skips a batch
whose id it already holds, so a journal replayed twice writes nothing twice. Everything else
is a read. Artifact files live in the store's :class:`ArtifactRepository` (``store.artifacts``),
which the client writes on the caller's thread and the store writes tables' files to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracklm._errors import StoreError
from tracklm._run_manager.records import Batch, Row
from tracklm.entities import Experiment, Metric, Run
from tracklm.stores.artifacts import ArtifactRepository


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
