"""An append-only journal on local disk for batches the store could not take yet.

Layout: ``<journal root>/<store key>/<owner>/<n>.jsonl``, one folder per process. The owner
holds an exclusive ``flock`` on ``<owner>/owner.lock`` for its lifetime, so another process that
can take that lock knows the owner is gone and adopts its segments (a process killed with
SIGKILL leaves its journal to the next process that opens the same store).

Batches are appended as JSON lines to the current segment; :meth:`Journal.segments` rotates to
a new segment so that replaying an old one never races with new appends. A segment is deleted
only once every batch in it is in the store; stores skip batches they already hold, so a replay
cut short by a crash is repeated without doubles.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from tracklm._files import private_dirs
from tracklm._run_manager.records import Batch

logger = logging.getLogger("tracklm.journal")

_LOCK_NAME = "owner.lock"
_STAGING_PREFIX = ".new-"


def default_journal_root() -> Path:
    """Where journals live: ``$TRACKLM_JOURNAL_DIR``, else the user's cache folder.

    Not inside the store: a store whose folder is read-only or full must still be journaled.
    """
    configured = os.environ.get("TRACKLM_JOURNAL_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "tracklm" / "journal"


def store_key(store_uri: str) -> str:
    """A folder name for one store, stable across processes."""
    return hashlib.sha256(store_uri.encode()).hexdigest()[:24]


class Journal:
    """This process's journal for one store, plus adoption of dead processes' journals."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.owner_dir = root / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # raw descriptors, so that a forked child can close its copies without Python file
        # objects closing them a second time later
        self._lock_fd: int | None = None
        self._segment_fd: int | None = None
        self._segment_no = 0
        self.pending_records = 0

    # -- this process's journal --------------------------------------------------------------

    def append(self, batch: Batch) -> None:
        """Append a batch durably enough to survive the process being killed."""
        if self._segment_fd is None:
            self._segment_fd = self._open_segment()
        data = (batch.to_json() + "\n").encode()
        view = memoryview(data)
        while view:  # one write per batch; in the OS's hands now, so it survives SIGKILL
            view = view[os.write(self._segment_fd, view) :]
        self.pending_records += len(batch.records)

    def has_pending(self) -> bool:
        return self.pending_records > 0

    def segments(self) -> list[Path]:
        """Close the current segment and return this process's segments, oldest first."""
        self._close_segment()
        if not self.owner_dir.exists():
            if self.pending_records:
                logger.warning(
                    "tracklm's journal folder %s was deleted with %d records in it",
                    self.owner_dir,
                    self.pending_records,
                )
                self.pending_records = 0  # nothing left to wait for
            return []
        return sorted(self.owner_dir.glob("*.jsonl"), key=lambda p: int(p.stem))

    def close(self) -> None:
        """Release this process's journal; a folder with batches left stays for adoption."""
        self._close_segment()
        if self._lock_fd is not None:
            if not any(self.owner_dir.glob("*.jsonl")):
                shutil.rmtree(self.owner_dir, ignore_errors=True)
            os.close(self._lock_fd)
            self._lock_fd = None

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's files without touching them."""
        # The child shares the parent's open file descriptions; closing ours keeps the
        # parent's flock, and the child starts a journal folder of its own when it needs one.
        for fd in (self._segment_fd, self._lock_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._segment_fd = None
        self._lock_fd = None
        self.owner_dir = self.root / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.pending_records = 0

    def _open_segment(self) -> int:
        if self._lock_fd is None or not self.owner_dir.is_dir():  # (or its folder was deleted)
            self._own_folder()
        self._segment_no += 1
        path = self.owner_dir / f"{self._segment_no}.jsonl"
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def _own_folder(self) -> None:
        """Make this process's folder, its lock already held when the folder appears.

        Made under a hidden name, locked, then renamed: a folder another process finds under
        its final name always has a live owner's lock or none, never a lock still to come
        (that process would adopt the folder, delete it, and leave this one writing nowhere).
        """
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None
        private_dirs(self.root)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.root))  # mode 0700
        fd = os.open(staging / _LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            staging.rename(self.owner_dir)
        except OSError:
            os.close(fd)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._lock_fd = fd

    def _close_segment(self) -> None:
        if self._segment_fd is not None:
            os.close(self._segment_fd)
            self._segment_fd = None

    # -- journals of processes that are gone -------------------------------------------------

    def orphans(self) -> Iterator[tuple[Path, list[Path]]]:
        """Yield (folder, segments) of journals whose owner is gone, holding their lock.

        The lock is released when the caller resumes the iterator; delete the folder before
        that, once its batches are in the store.
        """
        if not self.root.exists():
            return
        for folder in sorted(self.root.iterdir()):
            if (
                folder == self.owner_dir
                or folder.name.startswith(_STAGING_PREFIX)
                or not folder.is_dir()
            ):
                continue
            try:
                fd = os.open(folder / _LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o600)
            except OSError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # its owner is alive
                segments = sorted(folder.glob("*.jsonl"), key=lambda p: int(p.stem))
                yield folder, segments
            finally:
                os.close(fd)


def read_batches(segment: Path) -> Iterator[Batch]:
    """The batches of a segment; a torn last line (the writer was killed) is skipped."""
    with open(segment, encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                logger.warning("Skipping a torn journal line at the end of %s", segment)
                return
            yield Batch.from_json(line)


def fallback_root() -> Path:
    """A journal root for machines where the cache folder cannot be written."""
    return Path(tempfile.gettempdir()) / f"tracklm-{os.getuid()}" / "journal"
