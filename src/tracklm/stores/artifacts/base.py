"""The interface of an artifact repository: where the runs' files live.

A repository holds one folder per run, ``<root>/<experiment_id>/<run_id>/artifacts/``, on a
local or shared path or behind an fsspec URL. The client writes files the user logs
(``log_artifact``, ``log_text``, ``log_dict``) and lists them through it; the stores keep each
table's file there in step with the table's rows (:meth:`ArtifactRepository.write_table`).
Relative paths reach a repository already checked by :mod:`tracklm._validation` (no absolute
path, no ``..``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

TableLoader = Callable[[str, str], tuple[list[str], list[dict[str, Any]]] | None]
"""``(run_id, artifact_file) -> (columns, rows)`` of a stored table, or None if it is gone."""


class TableUpdate(NamedTuple):
    """Rows appended to a table in the store, for its file to follow."""

    artifact_file: str
    columns: Sequence[str]
    columns_changed: bool
    rows: Sequence[dict[str, Any]]
    rows_before: int
    size_before: int
    """The file's size the store recorded after the last write (0 for a new table)."""
    all_rows: Callable[[], list[dict[str, Any]]]
    """Every row of the table, old and new, for a full rewrite."""


class ArtifactRepository(ABC):
    """The runs' artifact files under one root."""

    root: str
    """The root as people read it: a folder path or a URL."""

    @abstractmethod
    def experiment_uri(self, experiment_id: str) -> str:
        """The URI of the experiment's folder (MLflow's ``artifact_location``)."""

    @abstractmethod
    def run_uri(self, experiment_id: str, run_id: str) -> str:
        """The URI of the run's artifact folder (``file://...``, ``s3://...``)."""

    def local_dir(self, experiment_id: str, run_id: str) -> Path | None:
        """The run's folder on this machine's file system, or None for an object store."""
        return None

    @abstractmethod
    def check_path(self, experiment_id: str, run_id: str, relative: str) -> None:
        """Refuse ``relative`` if writing it would leave the run's folder."""

    @abstractmethod
    def write_bytes(self, experiment_id: str, run_id: str, relative: str, data: bytes) -> None:
        """Write ``data`` as the file ``relative`` of the run, replacing it whole."""

    def copy_in(self, experiment_id: str, run_id: str, source: Path, relative: str) -> None:
        """Copy a local file, or a folder's files, to ``relative`` in the run's folder."""
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    inner = path.relative_to(source).as_posix()
                    self.copy_file(experiment_id, run_id, path, f"{relative}/{inner}")
            return
        self.copy_file(experiment_id, run_id, source, relative)

    @abstractmethod
    def copy_file(self, experiment_id: str, run_id: str, source: Path, relative: str) -> None:
        """Copy one local file to ``relative`` in the run's folder."""

    @abstractmethod
    def read_bytes(self, experiment_id: str, run_id: str, relative: str) -> bytes:
        """The content of the run's file ``relative``."""

    @abstractmethod
    def list_files(self, experiment_id: str, run_id: str) -> list[str]:
        """Every file of the run, as relative POSIX paths, sorted."""

    @abstractmethod
    def write_table(self, experiment_id: str, run_id: str, update: TableUpdate) -> int:
        """Bring a table's file up to date with appended rows; return the size to record.

        Called inside the store's write transaction, with the table's row locked.
        """

    def sync_tables(self, load: TableLoader, *, force: bool) -> None:  # noqa: B027
        """Write table files whose rewrite was put off; all of them when ``force``."""

    def describe(self) -> str:
        return self.root
