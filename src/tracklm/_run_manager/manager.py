"""The run manager: a bounded buffer drained to the store by one background thread.

Callers only append a record to a deque (``submit``); the flusher thread wakes every
``INTERVAL`` seconds, or sooner once a batch's worth of records wait, and writes what it finds
as batches of at most ``BATCH_SIZE`` records (fewer where the store asks for fewer). A batch the
store refuses goes to the on-disk :class:`Journal` and is replayed, in order, before anything
newer once the store takes writes again. When the buffer is full, a caller that may block waits
for room (explicit logging calls) and one that may not (autolog, on the user's hot path) drops
its record; every drop is counted and reported by ``flush()``.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
import weakref
from collections import deque
from itertools import repeat
from pathlib import Path
from typing import cast

from tracklm._log_once import log_once
from tracklm._run_manager.journal import Journal, read_batches
from tracklm._run_manager.records import (
    Batch,
    CreateExperiment,
    CreateRun,
    Deferred,
    Record,
    SetRunStatus,
    normalize,
)
from tracklm.entities import FlushResult
from tracklm.stores.base import Store, StoreUnavailable

logger = logging.getLogger("tracklm.run_manager")

# A run's lifecycle records are few and small: a full buffer takes them anyway, so that a call
# never waits for room to start a run, and no run loses its existence or its end.
_LIFECYCLE = frozenset({CreateExperiment, CreateRun, SetRunStatus})

# How long the flusher sleeps to let a thread waiting for the GIL take it. Python 3.10's
# sleep(0) takes the GIL back before the waiting thread wakes (its select() with no timeout
# returns at once); a sleep of any length lets it in (~50 µs, the kernel's timer slack).
_HAND_OVER = 0.0 if sys.version_info >= (3, 11) else 1e-6


class _FlushMarker:
    """Put in the buffer by ``flush()``; set once every record before it was handled."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class RunManager:
    """Buffers records for one store and writes them from a background thread."""

    BATCH_SIZE = 5_000
    CAPACITY = 100_000
    INTERVAL = 0.05
    """Seconds between drains: a record reaches disk (store or journal) within about this."""
    BLOCK_TIMEOUT = 30.0
    """How long a blocking ``submit`` waits for room before its record is dropped."""
    RETRY_MAX_INTERVAL = 2.0
    WARN_AFTER = 10.0
    """Seconds of refused writes before a warning is logged (shorter refusals are normal)."""
    ORPHAN_SCAN_INTERVAL = 30.0
    YIELD_AFTER = 0.0005
    """Seconds of turning calls into records after which the flusher lets other threads run."""
    BEHIND_AFTER = 0.1
    """Seconds without the buffer emptied after which the flusher is behind (see _nudge)."""
    NUDGE_ABOVE = 64
    """Records waiting below which no submitting thread checks whether the flusher is behind."""
    NUDGE_EVERY = 0.02
    """Seconds between two of the submitting threads' sleeps while the flusher is behind."""
    NUDGE_FOR = 0.0005
    """Seconds such a sleep lasts: long enough for the flusher's thread to take the GIL."""

    def __init__(self, store: Store, journal_root: Path) -> None:
        self.store = store
        self._journal_root = journal_root
        self._written = 0
        self._dropped = 0
        self._reset_runtime_state()
        _register_fork_hook(self)

    def _reset_runtime_state(self) -> None:
        self._pid = os.getpid()
        self._buffer: deque[Record | _FlushMarker] = deque()
        self._wakeup = threading.Event()
        self._room = threading.Condition(threading.Lock())
        self._journal_lock = threading.RLock()
        self._counter_lock = threading.Lock()
        self._held: deque[Batch] = deque()  # batches neither store nor journal could take
        self._held_records = 0
        self._in_flight = 0  # records taken from the buffer, not yet written or journaled
        self._in_flight_batch: Batch | None = None
        self._spilled = 0  # records journaled aside at exit while the flusher was stuck
        self._journal = Journal(self._journal_root)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False
        self._next_store_try = 0.0
        self._retry_interval = self.INTERVAL
        self._failing_since: float | None = None
        self._next_orphan_scan = 0.0
        self._emptied_at = time.monotonic()  # when the flusher last found the buffer empty
        self._nudged_at = 0.0

    # -- caller side -------------------------------------------------------------------------

    def submit(self, record: Record, *, block: bool = True) -> bool:
        """Queue a record; False when it was dropped because the buffer stayed full."""
        if self._thread is None:  # first use, or a forked child (see _after_fork_in_child)
            self._start()
            if self._thread is None:  # the interpreter is shutting down: no writer to come
                self._count_dropped(1)
                return False
        buffer = self._buffer
        if (
            len(buffer) >= self.CAPACITY
            and type(record) not in _LIFECYCLE
            and not self._wait_for_room(block)
        ):
            self._count_dropped(1)
            log_once(logger, "tracklm's buffer is full; records are being dropped and counted")
            return False
        buffer.append(record)
        if not len(buffer) % 16:  # looked at every 16 records: the check costs a clock read
            self._nudge()
        return True

    def _nudge(self) -> None:
        """Records wait: wake the flusher when a batch is full, and give it the GIL when it is
        falling behind.

        An app thread that keeps the GIL busy, releasing it only for moments (a system call),
        can keep the flusher from ever getting it: the interpreter forces a switch only after
        a whole switch interval without one. Records would then pile up (they and what they
        hold kept alive, then dropped at the buffer's capacity) instead of reaching the disk
        within ``BEHIND_AFTER``. So while the flusher has not emptied the buffer for that
        long, a submitting thread sleeps ``NUDGE_FOR`` once per ``NUDGE_EVERY``: the flusher
        takes the GIL meanwhile and keeps it for a switch interval.
        """
        waiting = len(self._buffer)
        if waiting >= self._batch_size() and not self._wakeup.is_set():
            self._wakeup.set()
        if waiting <= self.NUDGE_ABOVE:
            return
        now = time.monotonic()
        if (
            now - self._emptied_at > self.BEHIND_AFTER
            and now - self._nudged_at > self.NUDGE_EVERY
            and threading.current_thread() is not self._thread
        ):
            self._nudged_at = now
            time.sleep(self.NUDGE_FOR)

    def flush(self, timeout: float | None = None, *, retry: bool = True) -> FlushResult:
        """Wait until every record submitted so far is in the store, for at most ``timeout``
        seconds; without a timeout, or with ``retry=False``, until each is in the store or,
        refused, in the journal.

        Within a timeout, journaled records are retried every ``INTERVAL``: a store refuses
        writes mostly while another process holds its lock, which lasts a moment. Journals
        left by processes that died are written first: a process that only reads flushes
        before each read, so it reads their records too.
        """
        if self._thread is None or self._pid != os.getpid():
            self._start()
        deadline = None if timeout is None or not retry else time.monotonic() + timeout
        wait = timeout
        while self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            self._next_orphan_scan = 0.0  # and the journals of processes gone since
            marker = _FlushMarker()
            self._buffer.append(marker)
            self._wakeup.set()
            if not marker.done.wait(wait) or deadline is None:
                break
            wait = deadline - time.monotonic()
            if wait <= 0 or not self._backlog():
                break
            time.sleep(min(self.INTERVAL, wait))
            wait = max(0.0, deadline - time.monotonic())
        return self.result()

    def result(self) -> FlushResult:
        buffered = sum(1 for r in list(self._buffer) if not isinstance(r, _FlushMarker))
        pending = buffered + self._in_flight + self._journal.pending_records + self._held_records
        pending += self._spilled
        return FlushResult(written=self._written, pending=pending, dropped=self._dropped)

    def _wait_for_room(self, block: bool) -> bool:
        if not block or threading.current_thread() is self._thread:
            return False
        deadline = time.monotonic() + self.BLOCK_TIMEOUT
        self._wakeup.set()
        with self._room:
            while len(self._buffer) >= self.CAPACITY:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return False
                self._room.wait(min(remaining, 0.1))
        return True

    def _count_dropped(self, n: int) -> None:
        with self._counter_lock:
            self._dropped += n

    # -- lifecycle ---------------------------------------------------------------------------

    def _start(self) -> None:
        with self._counter_lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            if self._pid != os.getpid():
                self._after_fork_in_child()
            if sys.is_finalizing():  # a thread started now would never run (3.10, 3.11: and
                return  # start() would wait for it forever, e.g. from a stream's __del__)
            self._closed = False
            self._stopping = False
            thread = threading.Thread(target=self._run, name="tracklm-flusher", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down: stay off
                return
            self._thread = thread

    def shutdown(self, timeout: float) -> FlushResult:
        """Flush for at most ``timeout`` seconds, then journal what is left (at exit)."""
        if self._closed or self._pid != os.getpid():
            return self.result()
        deadline = time.monotonic() + timeout
        thread = self._thread
        if thread is not None and thread.is_alive():
            self.flush(timeout)  # into the store while time is left, not only the journal
            self._stopping = True
            self._wakeup.set()
            thread.join(max(0.0, deadline - time.monotonic()))
        self._closed = True
        self._thread = None  # a record logged after this starts a new flusher
        if thread is not None and thread.is_alive():
            # The flusher is stuck in a store write or a journal replay, and may hold the
            # journal's lock for as long as that takes: leave its journal alone and put what
            # is left, its batch in flight too, in a journal of its own. The next process
            # adopts it; a batch the stuck write still completes is skipped there by its id.
            self._spill_to_journal(Journal(self._journal_root), stuck=True)
            return self.result()
        self._spill_to_journal(self._journal, stuck=False)
        self._sync_files(force=True)
        with self._journal_lock:
            self._journal.close()
        return self.result()

    def _spill_to_journal(self, journal: Journal, stuck: bool) -> None:
        """Move every record still in memory to ``journal`` (the flusher ran out of time).

        ``stuck``: the flusher is still running; its held and in-flight batches are copied
        (they stay counted as pending where they are) and ``journal`` is closed at the end.
        """
        records: list[Record] = []
        while True:
            try:
                item = self._buffer.popleft()
            except IndexError:
                break
            if isinstance(item, _FlushMarker):
                item.done.set()
            else:
                records.append(item)
        batches = [Batch(list(b.records), b.batch_id) for b in list(self._held)]
        in_flight = self._in_flight_batch
        if stuck and in_flight is not None:
            batches.append(Batch(list(in_flight.records), in_flight.batch_id))
        fresh = Batch(records) if records else None
        if fresh is not None:
            batches.append(fresh)
        if stuck:
            self._append_all(journal, batches, fresh)
            journal.close()
            return
        with self._journal_lock:
            self._append_all(journal, batches, fresh)
            self._held.clear()
            self._held_records = 0

    def _append_all(self, journal: Journal, batches: list[Batch], fresh: Batch | None) -> None:
        for batch in batches:
            try:
                journal.append(self._normalized(batch))
            except OSError as exc:
                self._count_dropped(len(batch.records))  # the process ends: they are lost
                log_once(logger, "tracklm could not journal records at exit", exc)
                continue
            if batch is fresh and journal is not self._journal:
                self._spilled += len(batch.records)  # the others are counted where they are

    def _after_fork_in_child(self) -> None:
        # The parent keeps writing its own records; the child starts empty, with its own
        # thread, locks and journal, so nothing the parent buffered is written twice.
        self._journal.forget_after_fork()
        self._reset_runtime_state()
        self._written = 0
        self._dropped = 0
        self.store.after_fork()

    # -- flusher thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wakeup.wait(self.INTERVAL)
            self._wakeup.clear()
            try:
                self._drain()
            except Exception as exc:  # the thread must never die
                log_once(logger, "tracklm's background writer hit an error", exc)
            self._sync_files(force=False)
            if self._stopping and not self._buffer:
                return

    def _drain(self) -> None:
        now = time.monotonic()
        if now >= self._next_orphan_scan:
            self._next_orphan_scan = now + self.ORPHAN_SCAN_INTERVAL
            self._adopt_orphans()
        while True:
            records: list[Record] = []
            markers: list[_FlushMarker] = []
            batch = self._in_flight_batch = Batch(records)
            try:
                self._take(records, markers)
                if records:
                    with self._room:
                        self._room.notify_all()
                    self._write(batch)
            finally:
                self._in_flight = 0
                self._in_flight_batch = None
            if self._backlog() and (markers or not records):
                self._retry_backlog(now=bool(markers))
            if markers:
                self._sync_files(force=True)
            for marker in markers:
                marker.done.set()
            if not self._buffer:
                return

    def _take(self, records: list[Record], markers: list[_FlushMarker]) -> None:
        """Move records from the buffer into ``records`` (a batch), up to a batch's size."""
        buffer = self._buffer
        size = self._batch_size()
        clock = time.perf_counter
        yield_at = clock() + self.YIELD_AFTER
        while buffer and len(records) < size:
            item: Record | Deferred | _FlushMarker = buffer.popleft()
            if isinstance(item, _FlushMarker):
                markers.append(item)
                continue
            records.append(cast(Record, item))
            if not isinstance(item, tuple):
                # A deferred record (an autologged call) becomes its plain records now, in
                # place (an exit meanwhile journals one or the other), so that the SDK's
                # objects it holds are freed one call at a time. Held to the end of the batch,
                # they and the records made from them would add up to collections of the
                # garbage collector, which then moves them into the old generations, whose
                # full collections scan the whole heap of the app.
                records[-1:] = self._expanded(item)
                if clock() >= yield_at:
                    self._yield()
                    yield_at = clock() + self.YIELD_AFTER
            self._in_flight = len(records)
        if not buffer:
            self._emptied_at = time.monotonic()

    def _batch_size(self) -> int:
        return min(self.BATCH_SIZE, self.store.max_batch_records)

    def _sync_files(self, force: bool) -> None:
        """Let the store write the table files it put off (object stores rewrite them)."""
        try:
            self.store.sync_files(force)
        except Exception as exc:
            log_once(logger, "tracklm could not bring a table's file up to date", exc)

    def _backlog(self) -> bool:
        return bool(self._held) or self._journal.has_pending()

    def _write(self, batch: Batch) -> None:
        batch = self._normalized(batch)
        if not batch.records:
            return
        if self._backlog() and not self._retry_backlog():
            self._keep(batch)  # the store is still down: stay behind what waits already
            return
        try:
            self._apply(batch)
        except StoreUnavailable as exc:
            self._store_failed(exc)
            self._keep(batch)
            return
        self._store_ok()

    def _apply(self, batch: Batch) -> None:
        """Write a batch; raise StoreUnavailable only when the store may take it later.

        Any other error comes from the records themselves, and retrying would block every
        later record behind them: the batch is split, and a record that fails alone is
        dropped (counted) so the rest arrive.
        """
        try:
            self.store.write_batch(batch)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if len(batch.records) == 1:
                self._count_dropped(1)
                log_once(logger, "tracklm's store cannot hold a record; dropped it", exc)
                return
            for i, record in enumerate(batch.records):
                # ids derived from the batch's, so a replay still skips what was written
                self._apply(Batch([record], batch_id=f"{batch.batch_id}.{i}"))
            return
        self._written += len(batch.records)

    def _normalized(self, batch: Batch) -> Batch:
        if all(map(isinstance, batch.records, repeat(tuple))):
            return batch  # plain records only (the common case): nothing to expand
        records: list[Record] = []
        clock = time.perf_counter
        yield_at = clock() + self.YIELD_AFTER
        for record in batch.records:
            records.extend(self._expanded(record))
            if clock() >= yield_at:
                self._yield()
                yield_at = clock() + self.YIELD_AFTER
        batch.records = records
        return batch

    def _expanded(self, record: Record | Deferred) -> list[Record]:
        try:
            return normalize(record)
        except Exception as exc:
            self._count_dropped(1)
            log_once(logger, "tracklm could not turn a record into rows; dropped it", exc)
            return []

    def _yield(self) -> None:
        # A thread of the app whose I/O has returned waits for the GIL while this one
        # computes, up to the interpreter's switch interval (5 ms): offer it now. Not once
        # behind (see _nudge), when keeping up comes first.
        if time.monotonic() - self._emptied_at <= self.BEHIND_AFTER:
            time.sleep(_HAND_OVER)

    def _keep(self, batch: Batch) -> None:
        """Journal a batch the store did not take; hold it in memory if even that fails."""
        with self._journal_lock:
            if not self._held:
                try:
                    self._journal.append(batch)
                    return
                except OSError as exc:
                    log_once(logger, "tracklm cannot write its journal; holding records", exc)
            if self._held_records + len(batch.records) > self.CAPACITY:
                self._count_dropped(len(batch.records))
                log_once(logger, "tracklm's store and journal are both failing; dropping records")
                return
            self._held.append(batch)
            self._held_records += len(batch.records)

    def _retry_backlog(self, now: bool = False) -> bool:
        """Write the journal, then held batches, to the store; True once nothing waits.

        Retries back off while the store keeps failing, unless ``now`` (a flush asked).
        """
        if not now and time.monotonic() < self._next_store_try:
            return False
        try:
            with self._journal_lock:
                for segment in self._journal.segments():
                    count = self._replay(segment)
                    self._journal.pending_records -= count
                while self._held:
                    batch = self._held[0]
                    self._apply(batch)
                    self._held.popleft()
                    self._held_records -= len(batch.records)
        except Exception as exc:
            self._store_failed(exc)
            return False
        self._store_ok()
        return True

    def _replay(self, segment: Path) -> int:
        """Write a journal segment to the store, then delete it; return its record count."""
        count = 0
        for batch in read_batches(segment):
            self._apply(batch)
            count += len(batch.records)
        segment.unlink()
        return count

    def _adopt_orphans(self) -> None:
        """Replay journals left by processes that died before their records reached the store."""
        try:
            for folder, segments in self._journal.orphans():
                for segment in segments:
                    self._replay(segment)
                shutil.rmtree(folder, ignore_errors=True)
        except Exception as exc:
            log_once(logger, "tracklm could not replay a journal left by another process", exc)

    def _store_failed(self, exc: BaseException) -> None:
        # A busy store (another process writing) refuses now and then: that is what the
        # journal is for, not worth a warning. One that keeps refusing is.
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        logger.debug("tracklm's store refused a write; journaling: %r", exc)
        if now - self._failing_since >= self.WARN_AFTER:
            log_once(
                logger,
                f"tracklm's store has refused writes for {self.WARN_AFTER:.0f} s; records wait "
                "in the journal until it takes them",
                exc,
            )
        self._retry_interval = min(self._retry_interval * 2, self.RETRY_MAX_INTERVAL)
        self._next_store_try = now + self._retry_interval

    def _store_ok(self) -> None:
        if self._failing_since is not None:
            logger.debug("tracklm's store takes writes again")
            self._failing_since = None
        self._retry_interval = self.INTERVAL
        self._next_store_try = 0.0


def _register_fork_hook(manager: RunManager) -> None:
    ref = weakref.ref(manager)

    def after_in_child() -> None:
        live = ref()
        if live is not None:
            live._after_fork_in_child()

    os.register_at_fork(after_in_child=after_in_child)
