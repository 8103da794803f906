"""A migration: open both stores, match experiments by name, then bring each run up to date.

Reads go through the :class:`~tracklm.stores.Store` interface of the source; writes through
:meth:`Store.write_batch` of the destination (batches of the records the run manager writes)
and its artifact repository, so any pair of stores works. One run's copy is
:mod:`tracklm.migrate._run`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from tracklm import _config
from tracklm._errors import InvalidTrackingUri, StoreError
from tracklm._run_manager import manager_for
from tracklm._run_manager.records import Batch, CreateExperiment
from tracklm.client import experiment_id_for
from tracklm.entities import Experiment
from tracklm.migrate._report import MigrationReport
from tracklm.migrate._run import RunCopy, batch_id
from tracklm.stores import Store, StoreUnavailable, mask_password, open_store, resolve_uri
from tracklm.stores._uri import parse

__all__ = ["migrate"]

logger = logging.getLogger("tracklm.migrate")

Progress = Callable[[MigrationReport], None]

WRITE_PATIENCE: Final = 30.0
"""Seconds a write the destination refuses (locked, down) is retried before giving up."""
SOURCE_FLUSH_TIMEOUT: Final = 30.0
"""How long the source's journal (records of processes that died) may take to write."""


def migrate(
    src_uri: str | os.PathLike[str],
    dst_uri: str | os.PathLike[str],
    *,
    src_artifact_root: str | os.PathLike[str] | None = None,
    dst_artifact_root: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy every experiment, run, table and artifact file of one store into another.

    Experiments are matched by name; runs keep their ids; metrics keep their full history
    (steps and timestamps); tables keep every row in order. Only what the destination lacks
    is written, so running it again copies nothing new, and a migration that was interrupted
    is completed by the next one. The source is read, never changed (records a process that
    died left in its journal are written into it first, as any tracklm process opening it
    does); runs still being written are copied as far as they got.

    Args:
        src_uri: the store to copy from (a tracking URI, see :func:`tracklm.set_tracking_uri`).
        dst_uri: the store to copy into; created if it does not exist.
        src_artifact_root: where the source's artifact files are, if not where
            ``TRACKLM_ARTIFACT_ROOT`` (or the store's default) says.
        dst_artifact_root: where the destination's artifact files go, likewise.
        progress: called with the report as it grows: after each batch, file and run.

    Raises:
        InvalidTrackingUri: both URIs name the same store, or one is not a tracking URI.
        StoreError: the source does not exist or holds nothing; a store cannot be reached, or
            the destination refused writes for longer than ``WRITE_PATIENCE`` seconds (what was
            copied until then is kept: run the migration again).
    """
    source_uri, destination_uri = resolve_uri(src_uri), resolve_uri(dst_uri)
    report = MigrationReport(mask_password(source_uri), mask_password(destination_uri))
    if source_uri == destination_uri:
        raise InvalidTrackingUri(
            f"The source and the destination are the same store ({report.source}); give the "
            "store to copy into as the second URI."
        )
    _check_source_exists(source_uri, report.source)
    src = _open_source(source_uri, src_artifact_root, report.source)
    dst = _open(destination_uri, dst_artifact_root)
    try:
        if src.uri == dst.uri:  # the same database, reached through two spellings
            raise InvalidTrackingUri(
                f"{report.source} and {report.destination} are the same store; give the store "
                "to copy into as the second URI."
            )
        Migration(src, dst, report, progress).run()
    finally:
        dst.close()
    return report


# -- opening the stores ------------------------------------------------------------------------


def _check_source_exists(uri: str, shown: str) -> None:
    """Refuse a SQLite source that does not exist (opening it would create an empty one)."""
    address = parse(uri)
    if address.kind == "sqlite" and address.path is not None and not address.path.is_file():
        raise StoreError(
            f"There is no tracklm store at {shown}: {address.path} does not exist. Check the "
            "source URI (a folder holding tracklm.db, or sqlite:///path/to/file.db)."
        )


@contextlib.contextmanager
def _artifact_root(root: str | os.PathLike[str] | None) -> Iterator[None]:
    # a store reads the configured artifact root once, when it is opened
    if root is None:
        yield
        return
    saved = _config.artifact_root
    _config.artifact_root = os.fspath(root)
    try:
        yield
    finally:
        _config.artifact_root = saved


def _open(uri: str, root: str | os.PathLike[str] | None) -> Store:
    with _artifact_root(root):
        return open_store(uri)


def _open_source(uri: str, root: str | os.PathLike[str] | None, shown: str) -> Store:
    """The source, through this process's run manager for it: opening it writes the journals
    of processes that died into it, as any tracklm process opening the store does."""
    with _artifact_root(root):
        manager = manager_for(uri)
    result = manager.flush(SOURCE_FLUSH_TIMEOUT)
    if result.pending:
        logger.warning(
            "%d records that processes left in the journal of %s could not be written to it "
            "yet; they are not in this migration (run it again once %s takes writes)",
            result.pending,
            shown,
            shown,
        )
    return manager.store


# -- the migration -----------------------------------------------------------------------------


class Migration:
    """A migration under way: the two stores, the report, and the writes."""

    def __init__(
        self, src: Store, dst: Store, report: MigrationReport, progress: Progress | None
    ) -> None:
        self.src = src
        self.dst = dst
        self.report = report
        self._progress = progress

    def run(self) -> None:
        started = time.monotonic()
        experiments = self._first_read(self.src, self.report.source)
        if not experiments:
            raise StoreError(
                f"{self.report.source} holds no experiments: there is nothing to migrate. "
                "Check the source URI."
            )
        self._first_read(self.dst, self.report.destination)
        self.report.experiments = len(experiments)
        targets = self._experiments(experiments)
        runs = self.src.list_runs([e.experiment_id for e in experiments])
        runs.sort(key=lambda r: (r.info.start_time, r.info.run_id))  # parents first
        self.report.runs_total = len(runs)
        self.tell()
        for run in runs:
            self.report.current_run = run.info.run_id
            RunCopy(self, run, targets[run.info.experiment_id]).run()
            self.report.runs_done += 1
            self.report.current_run = None
            self.report.seconds = time.monotonic() - started
            self.tell()
        self.dst.sync_files(force=True)  # table files an object store puts off
        self.report.seconds = time.monotonic() - started
        logger.info("migrated %s to %s", self.report.source, self.report.destination)

    def _first_read(self, store: Store, shown: str) -> list[Experiment]:
        try:
            return store.list_experiments()
        except OSError as exc:  # a SQLite store whose folder cannot be made or read
            raise StoreError(f"Cannot open the store {shown}: {exc}") from None

    def tell(self) -> None:
        if self._progress is not None:
            self._progress(self.report)

    # -- experiments ---------------------------------------------------------------------------

    def _experiments(self, experiments: Sequence[Experiment]) -> dict[str, Experiment]:
        """Source experiment id -> the destination's experiment of the same name (created if
        missing: with the source's id unless another experiment there has it)."""
        known = self.dst.list_experiments()
        by_name = {e.name: e for e in known}
        taken = {e.experiment_id for e in known}
        targets: dict[str, Experiment] = {}
        for experiment in experiments:
            found = by_name.get(experiment.name)
            if found is None:
                found = self._create_experiment(experiment, taken)
                self.report.experiments_created += 1
                taken.add(found.experiment_id)
            targets[experiment.experiment_id] = found
        return targets

    def _create_experiment(self, experiment: Experiment, taken: set[str]) -> Experiment:
        name = experiment.name
        candidates = [experiment.experiment_id, experiment_id_for(name)]
        candidates += [experiment_id_for(f"{name}\x00{n}") for n in range(1, 4)]
        created = experiment.creation_time or _now_ms()
        for experiment_id in (c for c in candidates if c not in taken):
            record = CreateExperiment(experiment_id, name, created)
            self.write(Batch([record], batch_id("experiment", name, experiment_id)))
            found = self.dst.get_experiment_by_name(name)
            if found is not None:
                return found
            # another writer took this id in the meantime: try the next
        raise StoreError(
            f"Cannot create the experiment {name!r} in {self.report.destination}: every id "
            "tried is taken. Create it there yourself, then run the migration again."
        )

    # -- writes --------------------------------------------------------------------------------

    def write(self, batch: Batch) -> None:
        """Write a batch, waiting up to ``WRITE_PATIENCE`` seconds for a store that refuses."""
        deadline = time.monotonic() + WRITE_PATIENCE
        pause = 0.05
        while True:
            try:
                self.dst.write_batch(batch)
                return
            except StoreUnavailable as exc:
                if time.monotonic() + pause > deadline:
                    raise StoreError(
                        f"{self.report.destination} refused writes for {WRITE_PATIENCE:.0f} s "
                        f"({exc}). What was copied so far is kept: run the migration again "
                        "once it takes writes."
                    ) from None
                logger.debug("the destination refused a write, trying again: %s", exc)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
