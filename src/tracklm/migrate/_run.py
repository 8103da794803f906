"""One run copied: what the destination lacks of it, in batches, then its files and status.

The records are those the run manager writes (:mod:`tracklm._run_manager.records`), worked out
by comparing the run in the source with the destination's copy of it: params and tags it lacks,
metric values it lacks (each ``(step, timestamp, value)`` counted, so a value logged twice is
copied twice), table rows past those it has (tables are only appended to), files it lacks or
holds with another size (tables' files aside: the destination writes its own), and last the
status, so a destination that says a run ended holds all of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tracklm._errors import StoreError, TracklmError
from tracklm._run_manager.records import (
    AppendRows,
    Batch,
    CreateRun,
    LogMetric,
    LogParam,
    Record,
    Row,
    SetRunStatus,
    SetTag,
)
from tracklm._validation import artifact_path
from tracklm.entities import Experiment, Metric, Run, RunStatus
from tracklm.stores import Store

if TYPE_CHECKING:
    from tracklm.migrate._copy import Migration

__all__ = ["MAX_BYTES", "MAX_RECORDS", "RunCopy", "batch_id"]

logger = logging.getLogger("tracklm.migrate")

MAX_RECORDS: Final = 5_000
"""Records (a table row counts as one) in one batch: one transaction of the destination."""
MAX_BYTES: Final = 8_000_000
"""About this much table text in one batch, so that long prompts make smaller batches."""

# batch ids are uuid5 names in this namespace: the same batch gets the same id in every
# migration, so that a destination that already applied it skips it
_NAMESPACE: Final = uuid.UUID("02b26c8a-01d5-4475-8790-7cf7e452da90")


class RunCopy:
    """One run: what the destination lacks of it, written in batches, files, then status."""

    def __init__(self, migration: Migration, run: Run, target: Experiment) -> None:
        self.m = migration
        self.src = migration.src
        self.dst = migration.dst
        self.report = migration.report
        self.run_id = run.info.run_id
        self.listed = run
        self.source_experiment = run.info.experiment_id
        self.target = target
        self.batches = 0
        self.changed = False
        self.state = ""  # digest of what the destination held: part of every batch id

    def run(self) -> None:
        run_id = self.run_id
        # the run as it is now (it may have ended since the listing), read before its data:
        # the destination is never told it ended before it holds what was logged until then
        run = self.src.get_run(run_id) or self.listed
        existing = self.dst.get_run(run_id)
        if existing is not None and existing.info.experiment_id != self.target.experiment_id:
            reason = (
                f"run {run_id}: the destination has a run with this id in another experiment "
                f"({existing.info.experiment_id}, not {self.target.name!r})"
            )
            logger.warning("not copied: %s", reason)
            self.report.skipped.append(reason)
            return
        tables = self.src.list_tables(run_id)
        records, state = self._records(run, existing, tables)
        info = run.info
        before = (existing.info.status, existing.info.end_time) if existing else ("RUNNING", None)
        status: list[Record] = []
        # a run the destination says ended is not made RUNNING again (it may have been ended
        # there, by an app that logs to the destination now)
        if (info.status, info.end_time) != before and (
            info.status != RunStatus.RUNNING or before[0] == RunStatus.RUNNING
        ):
            status = [SetRunStatus(run_id, info.status, info.end_time)]
        state["status"] = before
        self.state = _digest(state)
        files = self._files_to_copy(set(tables), existing is not None)
        if not files:  # nothing in between: the status goes with the last batch
            records += status
            status = []
        for chunk in _chunks(records):
            self._write(chunk)
        for relative, size in files:
            self._copy_file(relative, size)
        if status:
            self._write(status)
        if existing is not None and self.changed:
            self.report.runs_updated += 1

    # -- records -------------------------------------------------------------------------------

    def _records(
        self, run: Run, existing: Run | None, tables: list[str]
    ) -> tuple[list[Record], dict[str, Any]]:
        """The records that bring the destination's copy of ``run`` up to date, and the
        destination's state they were worked out from (part of every batch id)."""
        run_id, info, data = self.run_id, run.info, run.data
        records: list[Record] = []
        state: dict[str, Any] = {"run": existing is not None}
        if existing is None:
            target = self.target
            records.append(
                CreateRun(
                    run_id,
                    target.experiment_id,
                    target.name,
                    info.run_name,
                    info.start_time,
                    dict(data.tags),
                    info.parent_run_id,
                )
            )
            have_params: dict[str, str] = {}
        else:
            have = existing.data
            state["tags"] = sorted(have.tags.items())
            state["params"] = sorted(have.params)
            records += [SetTag(run_id, k, v) for k, v in data.tags.items() if have.tags.get(k) != v]
            have_params = dict(have.params)
        for key, value in data.params.items():
            if key not in have_params:
                records.append(LogParam(run_id, key, value))
            elif have_params[key] != value:  # params are fixed once logged: keep the destination's
                logger.warning(
                    "run %s: param %r is %r in the destination and %r in the source; kept %r",
                    run_id,
                    key,
                    have_params[key],
                    value,
                    have_params[key],
                )
        for key in sorted(data.metrics):
            history = self.src.get_metric_history(run_id, key)
            have_history = self.dst.get_metric_history(run_id, key) if existing else []
            state[f"metric:{key}"] = len(have_history)
            records += [
                LogMetric(run_id, key, m.value, m.step, m.timestamp)
                for m in _missing(history, have_history)
            ]
        for table in tables:
            rows = self.src.read_table(run_id, table)
            if rows is None:
                continue
            have_rows = self.dst.read_table(run_id, table) if existing else None
            state[f"table:{table}"] = None if have_rows is None else len(have_rows)
            if have_rows is None:
                records.append(AppendRows(run_id, table, rows))  # even empty: the table exists
            elif len(have_rows) < len(rows):  # rows are only appended: the first ones are there
                records.append(AppendRows(run_id, table, rows[len(have_rows) :]))
            elif len(have_rows) > len(rows):
                logger.warning(
                    "run %s: table %r has more rows in the destination (%d) than in the "
                    "source (%d); left as it is",
                    run_id,
                    table,
                    len(have_rows),
                    len(rows),
                )
        return records, state

    def _write(self, records: list[Record]) -> None:
        body = json.dumps(
            [[type(r).__name__, *r] for r in records], sort_keys=True, separators=(",", ":")
        )
        name = batch_id("run", self.run_id, str(self.batches), self.state, _sha(body))
        self.batches += 1
        self.m.write(Batch(records, name))
        report = self.report
        for record in records:
            if isinstance(record, LogMetric):
                report.metrics += 1
            elif isinstance(record, AppendRows):
                report.rows += len(record.rows)
            elif isinstance(record, LogParam):
                report.params += 1
            elif isinstance(record, SetTag):
                report.tags += 1
            elif isinstance(record, CreateRun):
                report.runs_created += 1
                report.tags += len(record.tags)
        self.changed = True
        self.m.tell()

    # -- artifact files ------------------------------------------------------------------------

    def _files_to_copy(self, tables: set[str], run_exists: bool) -> list[tuple[str, int]]:
        """(path, size) of the run's files the destination lacks, or holds with another size.

        Tables' files are left out: the destination writes its own as it takes the rows. A
        run the destination does not have yet has no files there (and some stores cannot even
        list them before the run exists).
        """
        experiment_id, run_id = self.source_experiment, self.run_id
        files = [f for f in self.src.artifacts.list_files(experiment_id, run_id) if f not in tables]
        if not files:
            return []
        there = set()
        if run_exists:
            there = set(self.dst.artifacts.list_files(self.target.experiment_id, run_id))
        todo: list[tuple[str, int]] = []
        for relative in files:
            try:
                size = _file_size(self.src, experiment_id, run_id, relative)
                if size is None:
                    continue  # gone since it was listed
                target_id = self.target.experiment_id
                if relative in there and _file_size(self.dst, target_id, run_id, relative) == size:
                    self.report.files_present += 1
                    continue
            except TracklmError as exc:  # a link out of the run's folder
                self._skip(relative, exc)
                continue
            todo.append((relative, size))
        return todo

    def _skip(self, relative: str, exc: Exception) -> None:
        reason = f"run {self.run_id}: file {relative!r}: {exc}"
        logger.warning("not copied: %s", reason)
        self.report.skipped.append(reason)

    def _copy_file(self, relative: str, size: int) -> None:
        run_id, source = self.run_id, self.src.artifacts
        try:
            artifact_path(relative)
            local = _local_file(self.src, self.source_experiment, run_id, relative)
            if local is not None:
                self.dst.artifacts.copy_file(self.target.experiment_id, run_id, local, relative)
            else:
                data = source.read_bytes(self.source_experiment, run_id, relative)
                self.dst.artifacts.write_bytes(self.target.experiment_id, run_id, relative, data)
                size = len(data)
        except FileNotFoundError:
            return  # gone since it was listed
        except TracklmError as exc:  # a path the destination refuses
            self._skip(relative, exc)
            return
        except OSError as exc:
            raise StoreError(
                f"Cannot copy the file {relative!r} of run {run_id} to "
                f"{self.dst.artifacts.describe()}: {exc}. What was copied so far is kept: run "
                "the migration again once it can be written."
            ) from None
        self.report.files_copied += 1
        self.report.bytes_copied += size
        self.changed = True
        self.m.tell()


# -- differences, batches, files, ids --------------------------------------------------------------


def _missing(history: list[Metric], have: list[Metric]) -> list[Metric]:
    """The values of ``history`` that ``have`` lacks, each (step, timestamp, value) counted:
    a value logged twice in the source is copied twice."""
    if not have:
        return history
    counts = Counter((m.step, m.timestamp, repr(m.value)) for m in have)
    missing = []
    for metric in history:
        key = (metric.step, metric.timestamp, repr(metric.value))  # repr: NaN equals NaN
        if counts[key]:
            counts[key] -= 1
        else:
            missing.append(metric)
    return missing


def _chunks(records: list[Record]) -> Iterator[list[Record]]:
    """``records`` in batches of at most ``MAX_RECORDS`` records (a row counts as one) and
    about ``MAX_BYTES`` of table text; a long table is split into several appends."""
    batch: list[Record] = []
    count = size = 0
    for record in records:
        if not isinstance(record, AppendRows) or not record.rows:
            if count + 1 > MAX_RECORDS:
                yield batch
                batch, count, size = [], 0, 0
            batch.append(record)
            count += 1
            continue
        rows, start = record.rows, 0
        for i, row in enumerate(rows):
            weight = _row_size(row)
            if count and (count + 1 > MAX_RECORDS or size + weight > MAX_BYTES):
                if i > start:
                    batch.append(AppendRows(record.run_id, record.artifact_file, rows[start:i]))
                    start = i
                yield batch
                batch, count, size = [], 0, 0
            count += 1
            size += weight
        batch.append(AppendRows(record.run_id, record.artifact_file, rows[start:]))
    if batch:
        yield batch


def _row_size(row: Row) -> int:
    return sum(len(v) if isinstance(v, str) else 16 for v in row.values()) + 16


def _file_size(store: Store, experiment_id: str, run_id: str, relative: str) -> int | None:
    """A file's size: from the file system where the repository is a folder, else read."""
    local = _local_file(store, experiment_id, run_id, relative)
    try:
        if local is not None:
            return local.stat().st_size
        return len(store.artifacts.read_bytes(experiment_id, run_id, relative))
    except FileNotFoundError:
        return None


def _local_file(store: Store, experiment_id: str, run_id: str, relative: str) -> Path | None:
    """The file's path where the repository is a folder and the file is inside the run's
    folder (a link out of it is read through the repository, which refuses it)."""
    folder = store.artifacts.local_dir(experiment_id, run_id)
    if folder is None:
        return None
    path = folder / relative
    try:
        inside = path.resolve(strict=True).is_relative_to(folder.resolve(strict=True))
    except (OSError, RuntimeError):  # missing, or a loop of links
        return None
    return path if inside and not path.is_symlink() else None


def batch_id(*parts: str) -> str:
    return uuid.uuid5(_NAMESPACE, "\x00".join(parts)).hex


def _digest(state: dict[str, Any]) -> str:
    return _sha(json.dumps(state, sort_keys=True, default=str))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
