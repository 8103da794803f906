"""Tables of runs on an MLflow server: rows in part files, readable files rewritten coalesced.

MLflow keeps no table rows, and its artifacts cannot be appended to, so a table lives in its
run's artifacts in two forms:

- **parts**, the rows themselves: each batch the store writes adds one small file per table
  under ``.tracklm/tables/<artifact_file>/``, holding the batch's rows (one JSON line
  ``[row_id, row]`` each; NaN and any text survive). An append costs what it appends.
- **views**, for people and other tools: the table's own file (``predictions.csv``, what
  ``tracklm.load_table`` readers outside tracklm open) and, for MLflow's ``mlflow.load_table``
  and its UI, the ``{"columns": [...], "data": [[...]]}`` form in a ``.json`` file
  (``predictions.json``), listed in the run tag ``mlflow.loggedArtifacts``.

Views are rewritten whole from the parts: at most once per :attr:`TableFiles.REWRITE_INTERVAL`
seconds per table (longer for big tables: rewrites take at most a tenth of the time), and at
``flush()`` and exit. A rewrite of a table of N bytes downloads what this process does not hold
of its parts and uploads about 2N (the table's file and its ``.json`` form), rendered a part at
a time through temporary files, so memory holds one part whatever the table's size. A writer
also folds its own small parts into one larger part (a new file, up to
:attr:`TableFiles.MERGED_PART_MAX` bytes, then another) and deletes them — at each rewrite, and
whenever they reach half that size — so that reading a table fetches a few files. A reader
drops a row whose id it has already seen: a part replayed twice, or a small part and the merged
part that holds it seen in one listing, never count a row twice.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tracklm._errors import StoreError
from tracklm._log_once import log_once
from tracklm._run_manager.records import Row, column_names
from tracklm.stores import _table_files
from tracklm.stores._mlflow_rest import RestClient, RestError, ServerUnavailable

logger = logging.getLogger("tracklm.stores.mlflow")

TABLES_DIR: Final = ".tracklm/tables"
"""Where a run's table parts live, under its artifact root."""
_PART_SUFFIX: Final = ".jsonl"
_CACHE_BYTES: Final = 32 * 1024 * 1024
"""Parts kept in memory, as their bytes (rows are parsed when read: several times larger)."""


@dataclass
class RunFolder:
    """A run's artifact root as the artifact proxy names it (``<...>/<run>/artifacts``)."""

    run_id: str
    """tracklm's id of the run."""
    mlflow_id: str
    path: str


def companion(artifact_file: str) -> str | None:
    """The ``.json`` file MLflow reads for a table (None when the table is one already)."""
    if artifact_file.endswith(".json"):
        return None
    stem = artifact_file.rsplit(".", 1)[0]
    return stem + ".json"


def mlflow_view(artifact_file: str) -> str:
    """The table's file that ``mlflow.loggedArtifacts`` lists."""
    return companion(artifact_file) or artifact_file


@dataclass
class _Own:
    """What this writer appended to one table and has not folded yet."""

    folder: RunFolder
    artifact_file: str
    last_ms: int = 0
    seq: int = 0
    small: list[tuple[str, bytes]] = field(default_factory=list)
    merged_name: str | None = None
    merged_gen: int = 0
    merged: bytes = b""
    due: float | None = None
    """When the views are to be rewritten (None: nothing new)."""
    written: float | None = None
    took: float = 0.0


class TableFiles:
    """The parts and views of the tables one store writes and reads."""

    REWRITE_INTERVAL = 5.0
    """Seconds between two rewrites of one table's views (flush and exit write at once)."""
    MERGED_PART_MAX = 16 * 1024 * 1024
    """A writer's merged part grows to this many bytes; then it starts another."""

    def __init__(
        self, rest: RestClient, writer: str, logged: Callable[[RunFolder, str], None]
    ) -> None:
        self._rest = rest
        self._writer = writer
        self._logged = logged
        self._lock = threading.RLock()
        self._own: dict[tuple[str, str], _Own] = {}
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached_bytes = 0

    def after_fork(self, writer: str) -> None:
        """In a forked child: the parent's pending rewrites stay the parent's."""
        self._writer = writer
        self._lock = threading.RLock()
        self._own = {}

    # -- writes ------------------------------------------------------------------------------

    def append(self, folder: RunFolder, artifact_file: str, rows: list[tuple[str, Row]]) -> None:
        """Upload ``rows`` (with their ids) as a new part of the table."""
        data = b"".join(_line(row_id, row) for row_id, row in rows)
        with self._lock:
            own = self._own.get((folder.mlflow_id, artifact_file))
            if own is None:
                own = self._own[(folder.mlflow_id, artifact_file)] = _Own(folder, artifact_file)
            # names sort in the order this writer appended, whatever the clock does
            own.last_ms = max(int(time.time() * 1000), own.last_ms)
            own.seq += 1
            name = f"{own.last_ms:013d}-{self._writer}-{own.seq:06d}{_PART_SUFFIX}"
            path = f"{_folder(folder, artifact_file)}/{name}"
            self._rest.put_artifact(path, data, len(data))
            own.small.append((name, data))
            self._remember(path, data)
            if sum(len(d) for _, d in own.small) >= self.MERGED_PART_MAX // 2:
                try:  # they are kept in memory until folded: fold them now, not at the rewrite
                    self._fold(own)
                except RestError as exc:
                    logger.debug("tracklm could not fold a table's parts yet: %r", exc)
            if own.due is None:
                now = time.monotonic()
                own.due = now if own.written is None else max(now, own.written + self._pause(own))
            if own.folder.path != folder.path:
                own.folder = folder

    def sync(self, *, force: bool, only: tuple[str, str] | None = None) -> None:
        """Fold parts and rewrite the views of tables that are due (all if ``force``).

        A server that cannot be reached ends the round: the rest waits for the next one.
        """
        with self._lock:
            now = time.monotonic()
            keys = [only] if only is not None else list(self._own)
            for key in keys:
                own = self._own.get(key)
                if own is None or own.due is None or (not force and own.due > now):
                    continue
                started = time.monotonic()
                try:
                    self._fold(own)
                    self._rewrite_views(own)
                except ServerUnavailable as exc:
                    own.due = time.monotonic() + self.REWRITE_INTERVAL
                    log_once(logger, "tracklm could not rewrite a table's files on MLflow", exc)
                    return
                except Exception as exc:  # the rows are safe in the parts: try again later
                    own.due = time.monotonic() + self.REWRITE_INTERVAL
                    log_once(logger, "tracklm could not rewrite a table's files on MLflow", exc)
                    continue
                own.due = None
                own.written = time.monotonic()
                own.took = own.written - started

    def pending(self, mlflow_id: str, relative: str) -> tuple[str, str] | None:
        """The table whose view ``relative`` is waiting for a rewrite, if any."""
        with self._lock:
            for (run, artifact_file), own in self._own.items():
                mine = run == mlflow_id and own.due is not None
                if mine and relative in (artifact_file, companion(artifact_file)):
                    return run, artifact_file
        return None

    def _pause(self, own: _Own) -> float:
        # a table that takes long to rewrite is rewritten less often: at most a tenth of the time
        return max(self.REWRITE_INTERVAL, 10 * own.took)

    def _fold(self, own: _Own) -> None:
        """Put this writer's small parts of the table into its merged part, then delete them."""
        if len(own.small) < 2 and own.merged_name is None:
            return  # one part is as good as one merged part
        if not own.small:
            return
        folder = _folder(own.folder, own.artifact_file)
        first = own.merged_name or own.small[0][0][: -len(_PART_SUFFIX)]
        own.merged_gen += 1
        data = own.merged + b"".join(d for _, d in own.small)
        name = f"{first}.m{own.merged_gen:06d}{_PART_SUFFIX}"
        self._rest.put_artifact(f"{folder}/{name}", data, len(data))
        old = [f"{folder}/{n}" for n, _ in own.small]
        if own.merged_gen > 1:
            old.append(f"{folder}/{first}.m{own.merged_gen - 1:06d}{_PART_SUFFIX}")
        own.small = []
        if len(data) >= self.MERGED_PART_MAX:
            own.merged_name, own.merged_gen, own.merged = None, 0, b""
        else:
            own.merged_name, own.merged = first, data
        for path in old:  # readers skip rows they have seen: a part left behind costs nothing
            try:
                self._rest.delete_artifact(path)
            except Exception as exc:
                logger.debug("tracklm could not delete the folded part %s: %r", path, exc)

    def _rewrite_views(self, own: _Own) -> None:
        """Rewrite the table's files, a part at a time through temporary files: memory holds
        one part's rows, whatever the size of the table."""
        views = [own.artifact_file]
        extra = companion(own.artifact_file)
        if extra is not None and not self._is_table(own.folder, extra):
            views.append(extra)
        with tempfile.TemporaryDirectory(prefix="tracklm-table-") as tmp:
            snapshot = self._snapshot(own.folder, own.artifact_file, Path(tmp))
            if snapshot is None:
                return
            columns, parts = snapshot
            for view in views:
                target = Path(tmp) / "view"
                _render_file(view, columns, parts, target)
                with open(target, "rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    self._rest.put_artifact(f"{own.folder.path}/{view}", handle, size)
        self._logged(own.folder, mlflow_view(own.artifact_file))

    def _snapshot(
        self, folder: RunFolder, artifact_file: str, tmp: Path
    ) -> tuple[list[str], list[Path]] | None:
        """The table's columns, and its parts copied into ``tmp`` in order (None: no table)."""
        base = _folder(folder, artifact_file)
        for _ in range(3):  # a part folded and deleted between listing and reading: list again
            sizes = self._parts(base)
            if not sizes:
                return None
            columns: dict[str, None] = {}
            seen: set[str] = set()
            copies: list[Path] = []
            for name in sorted(sizes):
                data = self._part_bytes(f"{base}/{name}", sizes[name])
                if data is None:
                    break
                copy = tmp / f"{len(copies):06d}.jsonl"
                copy.write_bytes(data)
                copies.append(copy)
                for row_id, row in _parse(data):
                    if row_id not in seen:
                        seen.add(row_id)
                        for key in row:
                            columns.setdefault(key)
            else:
                return list(columns), copies
        raise StoreError(
            f"The table {artifact_file!r} of run {folder.run_id} kept changing while it was "
            "read; read it again."
        )

    # -- reads -------------------------------------------------------------------------------

    def load(self, folder: RunFolder, artifact_file: str) -> tuple[list[str], list[Row]] | None:
        """The table's (columns, rows) in order, each row once, or None if it has none."""
        base = _folder(folder, artifact_file)
        for _ in range(3):  # a part folded and deleted between listing and reading: list again
            sizes = self._parts(base)
            if not sizes:
                return None
            seen: set[str] = set()
            rows: list[Row] = []
            for name in sorted(sizes):
                data = self._part_bytes(f"{base}/{name}", sizes[name])
                if data is None:
                    break
                for row_id, row in _parse(data):
                    if row_id not in seen:
                        seen.add(row_id)
                        rows.append(row)
            else:
                return column_names(rows), rows
        raise StoreError(
            f"The table {artifact_file!r} of run {folder.run_id} kept changing while it was "
            "read; read it again."
        )

    def _parts(self, base: str) -> dict[str, int]:
        """The part files of a table's folder, and their sizes."""
        listed = self._rest.list_artifacts(base)
        return {n: s for n, d, s in listed if not d and n.endswith(_PART_SUFFIX)}

    def _is_table(self, folder: RunFolder, artifact_file: str) -> bool:
        """Whether the run has a table of that name (then no other table's view takes it)."""
        listed = self._rest.list_artifacts(_folder(folder, artifact_file))
        return any(not d and n.endswith(_PART_SUFFIX) for n, d, _ in listed)

    def list_tables(self, folder: RunFolder) -> list[str]:
        """The names of the run's tables (folders holding parts)."""
        found: list[str] = []
        root = f"{folder.path}/{TABLES_DIR}"
        for relative, has_parts in self._walk(root, ""):
            if has_parts:
                found.append(relative)
        return sorted(found)

    def _walk(self, root: str, relative: str) -> Iterator[tuple[str, bool]]:
        entries = self._rest.list_artifacts(f"{root}/{relative}" if relative else root)
        if relative:
            yield relative, any(not d and n.endswith(_PART_SUFFIX) for n, d, _ in entries)
        for name, is_dir, _ in entries:
            if is_dir:
                yield from self._walk(root, f"{relative}/{name}" if relative else name)

    def _part_bytes(self, path: str, size: int) -> bytes | None:
        """A part's content, or None if it is gone (folded and deleted since it was listed)."""
        with self._lock:
            data = self._cache.get(path)
            if data is not None and len(data) == size:
                self._cache.move_to_end(path)
                return data
        data = self._rest.get_artifact(path)
        if data is not None and len(data) == size and data.endswith(b"\n"):
            self._remember(path, data)
        return data

    def _remember(self, path: str, data: bytes) -> None:
        with self._lock:
            old = self._cache.pop(path, None)
            if old is not None:
                self._cached_bytes -= len(old)
            self._cache[path] = data
            self._cached_bytes += len(data)
            while self._cached_bytes > _CACHE_BYTES and len(self._cache) > 1:
                _, dropped = self._cache.popitem(last=False)
                self._cached_bytes -= len(dropped)


def _folder(folder: RunFolder, artifact_file: str) -> str:
    return f"{folder.path}/{TABLES_DIR}/{artifact_file}"


def _parse(data: bytes) -> Iterator[tuple[str, Row]]:
    """The (row id, row) lines of a part; a last line still being written is left out."""
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            row_id, row = json.loads(line)
        except ValueError:
            return
        yield row_id, row


def _render_file(name: str, columns: list[str], parts: list[Path], target: Path) -> None:
    """Write the file form ``name`` of a table whose parts are ``parts``, a part at a time.

    Each part is rendered by :func:`_table_files.render` and its rows cut out of the result,
    so the file is byte for byte what rendering the whole table at once gives.
    """
    empty = _table_files.render(name, columns, [])
    is_json = name.endswith(".json") and not name.endswith(".jsonl")
    head = empty[:-2] if is_json else empty  # JSON: up to the '[' of "data"; CSV: the header
    seen: set[str] = set()
    first = True
    with open(target, "wb") as out:
        out.write(head)
        for part in parts:
            rows = []
            for row_id, row in _parse(part.read_bytes()):
                if row_id not in seen:
                    seen.add(row_id)
                    rows.append(row)
            if not rows:
                continue
            chunk = _table_files.render(name, columns, rows)
            if is_json:
                out.write((b"" if first else b",") + chunk[len(head) : -2])
            else:
                out.write(chunk[len(head) :])
            first = False
        if is_json:
            out.write(empty[-2:])


def _line(row_id: str, row: Row) -> bytes:
    # ASCII JSON with NaN and infinities as Python writes them: every value comes back as it was
    return json.dumps([row_id, row], separators=(",", ":")).encode() + b"\n"


def row_ids(batch_id: str, records: list[Any]) -> Iterator[tuple[int, str]]:
    """(index of the record in the batch, the id prefix of its rows), stable under splitting.

    The run manager splits a batch the store refused into one-record batches with ids
    ``<batch_id>.<index>``; a row keeps the same id either way, so a row written by the whole
    batch and again by its split part is read once.
    """
    root, dot, tail = batch_id.rpartition(".")
    if dot and tail.isdigit() and len(records) == 1:
        yield 0, f"{root}:{tail}"
        return
    for index in range(len(records)):
        yield index, f"{batch_id}:{index}"
