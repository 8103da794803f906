"""Artifacts behind an fsspec URL: ``s3://bucket/prefix``, ``gs://...``, ``memory://...``.

Needs ``fsspec`` and the driver of the URL's protocol (``s3fs`` for S3 ...): ``pip install
'tracklm[fsspec]' s3fs``. Object stores hold no links, so paths need no more checks than
:mod:`tracklm._validation` makes.

Tables: an object cannot be appended to, so a table's file is rewritten whole from the rows in
the store — at most once every :attr:`FsspecArtifactRepository.REWRITE_INTERVAL` seconds per
table, and at ``flush()`` and exit for whatever changed since. The rows themselves are in the
store from the moment their batch is written; only the file lags. Rewrites happen after the
store's transaction, never inside it, and a failed rewrite is logged once and tried again.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Final

from tracklm._errors import StoreError
from tracklm._log_once import log_once
from tracklm.stores import _table_files
from tracklm.stores.artifacts.base import ArtifactRepository, TableLoader, TableUpdate

logger = logging.getLogger("tracklm.artifacts")

INSTALL_HINT: Final = "pip install 'tracklm[fsspec]'"


class FsspecArtifactRepository(ArtifactRepository):
    """Run folders under an fsspec URL: ``<url>/<experiment_id>/<run_id>/artifacts/``."""

    REWRITE_INTERVAL = 5.0
    """Seconds between two rewrites of one table's file (flush and exit write at once)."""

    def __init__(self, url: str) -> None:
        try:
            from fsspec.core import url_to_fs
        except ImportError:
            raise StoreError(
                f"The artifact root {url!r} is an fsspec URL, and fsspec is not installed: "
                f"{INSTALL_HINT} (plus the driver of its protocol, such as s3fs for s3://)."
            ) from None
        try:
            self.fs, base = url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise StoreError(f"Cannot open the artifact root {url!r}: {exc}") from None
        self._base = str(base).rstrip("/")
        self.root = url
        self._lock = threading.Lock()
        self._due: dict[tuple[str, str, str], float] = {}  # table -> when to rewrite its file
        self._written: dict[tuple[str, str, str], float] = {}  # table -> its last rewrite

    def _path(self, experiment_id: str, run_id: str, relative: str = "") -> str:
        folder = f"{self._base}/{experiment_id}/{run_id}/artifacts"
        return f"{folder}/{relative}" if relative else folder

    def experiment_uri(self, experiment_id: str) -> str:
        return str(self.fs.unstrip_protocol(f"{self._base}/{experiment_id}"))

    def run_uri(self, experiment_id: str, run_id: str) -> str:
        return str(self.fs.unstrip_protocol(self._path(experiment_id, run_id)))

    def check_path(self, experiment_id: str, run_id: str, relative: str) -> None:
        """Nothing to check: an object store has no links to leave the run's folder by."""

    def write_bytes(self, experiment_id: str, run_id: str, relative: str, data: bytes) -> None:
        self._put(self._path(experiment_id, run_id, relative), data)

    def copy_file(self, experiment_id: str, run_id: str, source: Path, relative: str) -> None:
        path = self._path(experiment_id, run_id, relative)
        self.fs.makedirs(self.fs._parent(path), exist_ok=True)
        self.fs.put_file(str(source), path)

    def read_bytes(self, experiment_id: str, run_id: str, relative: str) -> bytes:
        data: bytes = self.fs.cat_file(self._path(experiment_id, run_id, relative))
        return data

    def list_files(self, experiment_id: str, run_id: str) -> list[str]:
        folder = self._path(experiment_id, run_id)
        found: list[Any] = self.fs.find(folder)
        prefix = self.fs._strip_protocol(folder).rstrip("/") + "/"
        names = (str(p)[len(prefix) :] for p in found if str(p).startswith(prefix))
        return sorted(n for n in names if not n.rsplit("/", 1)[-1].startswith("."))

    def write_table(self, experiment_id: str, run_id: str, update: TableUpdate) -> int:
        """Note the table as changed; :meth:`sync_tables` rewrites its file when it is due."""
        key = (experiment_id, run_id, update.artifact_file)
        with self._lock:
            if key not in self._due:
                last = self._written.get(key)
                now = time.monotonic()
                self._due[key] = now if last is None else max(now, last + self.REWRITE_INTERVAL)
        return 0

    def sync_tables(self, load: TableLoader, *, force: bool) -> None:
        now = time.monotonic()
        with self._lock:
            due = [key for key, when in self._due.items() if force or when <= now]
            for key in due:
                experiment_id, run_id, artifact_file = key
                try:
                    loaded = load(run_id, artifact_file)
                    if loaded is not None:
                        columns, rows = loaded
                        data = _table_files.render(artifact_file, columns, rows)
                        self._put(self._path(experiment_id, run_id, artifact_file), data)
                except Exception as exc:  # the rows are safe in the store: try again later
                    log_once(logger, f"tracklm could not write a table file to {self.root}", exc)
                    self._due[key] = time.monotonic() + self.REWRITE_INTERVAL
                    continue
                del self._due[key]
                self._written[key] = time.monotonic()

    def _put(self, path: str, data: bytes) -> None:
        self.fs.makedirs(self.fs._parent(path), exist_ok=True)
        self.fs.pipe_file(path, data)
