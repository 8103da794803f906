"""The artifacts of runs on an MLflow server, through its artifact proxy (``mlflow-artifacts``).

The server must serve artifacts (``mlflow server --serve-artifacts``, the default since MLflow
2): each run's ``artifact_uri`` is then ``mlflow-artifacts:/<...>/<run>/artifacts``, and files
go up and down through ``/api/2.0/mlflow-artifacts/artifacts/<path>``. The run's folder is
known once the run is on the server: a file logged right after ``start_run()`` waits (at most
:attr:`MLflowArtifactRepository.RUN_WAIT` seconds) for the background writer to create it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from tracklm.stores import _table_files
from tracklm.stores._mlflow_rest import RestClient
from tracklm.stores._mlflow_tables import TABLES_DIR, RunFolder, TableFiles
from tracklm.stores.artifacts.base import ArtifactRepository, TableUpdate


class RunFolders(Protocol):
    """What the repository asks the store: where runs and experiments keep their files."""

    def run_folder(self, run_id: str, *, wait: float) -> RunFolder:
        """The run's artifact folder on the server, waiting up to ``wait`` s for the run."""

    def known_artifact_uri(self, run_id: str) -> str | None:
        """The run's ``artifact_uri`` if the run is known to be on the server."""

    def experiment_location(self, experiment_id: str) -> str:
        """The experiment's ``artifact_location``."""


class MLflowArtifactRepository(ArtifactRepository):
    """Run files on an MLflow server, behind its artifact proxy."""

    RUN_WAIT = 10.0
    """Seconds a file logged into a new run waits for the run to reach the server."""

    def __init__(self, rest: RestClient, folders: RunFolders, tables: TableFiles) -> None:
        self._rest = rest
        self._folders = folders
        self._tables = tables
        self.root = f"mlflow-artifacts (proxied by {rest.server.base_url})"

    def experiment_uri(self, experiment_id: str) -> str:
        return self._folders.experiment_location(experiment_id)

    def run_uri(self, experiment_id: str, run_id: str) -> str:
        """The run's ``mlflow-artifacts:`` URI; empty until the run reaches the server."""
        return self._folders.known_artifact_uri(run_id) or ""

    def check_path(self, experiment_id: str, run_id: str, relative: str) -> None:
        """Nothing to check: the proxy holds no links to leave the run's folder by."""

    def write_bytes(self, experiment_id: str, run_id: str, relative: str, data: bytes) -> None:
        folder = self._folders.run_folder(run_id, wait=self.RUN_WAIT)
        self._rest.put_artifact(f"{folder.path}/{relative}", data, len(data))

    def copy_file(self, experiment_id: str, run_id: str, source: Path, relative: str) -> None:
        folder = self._folders.run_folder(run_id, wait=self.RUN_WAIT)
        with open(source, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            self._rest.put_artifact(f"{folder.path}/{relative}", handle, size)

    def read_bytes(self, experiment_id: str, run_id: str, relative: str) -> bytes:
        folder = self._folders.run_folder(run_id, wait=0)
        table = self._tables.pending(folder.mlflow_id, relative)
        if table is not None:  # a table's file read here: bring it up to date first
            self._tables.sync(force=True, only=table)
        data = self._rest.get_artifact(f"{folder.path}/{relative}")
        if data is None:
            raise FileNotFoundError(f"run {run_id} has no artifact {relative!r}")
        return data

    def list_files(self, experiment_id: str, run_id: str) -> list[str]:
        """Every file of the run (not the table parts tracklm keeps under ``.tracklm/``)."""
        folder = self._folders.run_folder(run_id, wait=0)
        found: list[str] = []
        pending = [""]
        while pending:
            relative = pending.pop()
            where = f"{folder.path}/{relative}" if relative else folder.path
            for name, is_dir, _ in self._rest.list_artifacts(where):
                path = f"{relative}/{name}" if relative else name
                if path == TABLES_DIR.split("/")[0]:
                    continue
                if is_dir:
                    pending.append(path)
                elif not name.startswith("."):
                    found.append(path)
        return sorted(found)

    def write_table(self, experiment_id: str, run_id: str, update: TableUpdate) -> int:
        """Rewrite the table's file whole (an object behind the proxy cannot be appended to)."""
        columns = list(update.columns)
        data = _table_files.render(update.artifact_file, columns, update.all_rows())
        self.write_bytes(experiment_id, run_id, update.artifact_file, data)
        return len(data)

    def describe(self) -> str:
        return self.root
