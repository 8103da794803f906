"""The buffer is bounded: past its capacity, autolog drops (counted) and callers may wait."""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

import tracklm
from tracklm._run_manager import RunManager, manager_for
from tracklm._run_manager.records import Batch, LogMetric

from ._subprocess import WriteLockHolder


@pytest.fixture
def small_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RunManager, "CAPACITY", 100)
    monkeypatch.setattr(RunManager, "BATCH_SIZE", 50)


def _stall_flusher(manager: RunManager) -> threading.Event:
    """Hold the flusher inside a store write until the returned event is set."""
    release = threading.Event()
    entered = threading.Event()
    original = manager.store.write_batch

    def slow_write(batch: object) -> None:
        entered.set()
        release.wait(30)
        original(batch)  # type: ignore[arg-type]

    manager.store.write_batch = slow_write  # type: ignore[method-assign]
    manager.submit(LogMetric("r", "warmup", 0.0, 0, 0))
    assert entered.wait(10)
    return release


@pytest.mark.usefixtures("small_buffer")
def test_a_full_buffer_drops_non_blocking_records_and_counts_them() -> None:
    manager = manager_for(tracklm.get_tracking_uri())
    release = _stall_flusher(manager)
    accepted = [
        manager.submit(LogMetric("r", "m", float(i), i, 0), block=False) for i in range(250)
    ]
    assert accepted.count(True) == 100
    assert manager.result().dropped == 150
    release.set()
    result = manager.flush(timeout=30)
    assert (result.written, result.pending, result.dropped) == (101, 0, 150)


@pytest.mark.usefixtures("small_buffer")
def test_a_full_buffer_makes_blocking_callers_wait_for_room() -> None:
    manager = manager_for(tracklm.get_tracking_uri())
    release = _stall_flusher(manager)
    for i in range(100):
        assert manager.submit(LogMetric("r", "m", float(i), i, 0))
    done = threading.Event()

    def blocked_caller() -> None:
        manager.submit(LogMetric("r", "m", 100.0, 100, 0))
        done.set()

    threading.Thread(target=blocked_caller).start()
    assert not done.wait(0.3)  # waiting for room, not dropping
    release.set()
    assert done.wait(10)
    result = manager.flush(timeout=30)
    assert (result.written, result.dropped) == (102, 0)


def test_batches_hold_no_more_records_than_the_store_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manager = manager_for(tracklm.get_tracking_uri())
    limit = 40  # the store's own (SQLite's 2,000) would need thousands of records
    monkeypatch.setattr(manager.store, "max_batch_records", limit)
    sizes: list[int] = []
    original = manager.store.write_batch

    def counting_write(batch: Batch) -> None:
        sizes.append(len(batch.records))
        original(batch)

    release = _stall_flusher(manager)
    manager.store.write_batch = counting_write  # type: ignore[method-assign]
    for i in range(2 * limit + 7):  # waiting together while the flusher is held
        manager.submit(LogMetric("r", "m", float(i), i, 0))
    release.set()
    result = manager.flush(timeout=30)
    assert (result.written, result.pending, result.dropped) == (2 * limit + 8, 0, 0)
    assert sizes == [limit, limit, 7]


def test_memory_is_bounded_by_the_buffer_not_by_what_is_logged(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the store locked, records beyond the buffer go to the journal, not to memory."""
    monkeypatch.setattr(RunManager, "CAPACITY", 1_000)
    with tracklm.start_run() as run:
        tracklm.flush()
        holder = WriteLockHolder(store_dir / "tracklm.db")
        for i in range(20_000):
            tracklm.log_metric("m", i, step=i)
        manager = manager_for(tracklm.get_tracking_uri())
        assert len(manager._buffer) <= 1_000
        assert manager.flush(timeout=10).dropped == 0
        holder.release()
    time.sleep(0.1)
    assert tracklm.flush(timeout=60).ok
    assert len(tracklm.TracklmClient().get_metric_history(run.info.run_id, "m")) == 20_000


class _Spinning:
    """A deferred record whose expansion computes, holding the GIL, until ``seen`` is set (at
    most 2 ms: a slow call's record); counts the expansions that ran their full time."""

    def __init__(self, seen: threading.Event, full: list[int]) -> None:
        self.seen = seen
        self.full = full

    def expand(self) -> list[LogMetric]:
        deadline = time.monotonic() + 0.002
        while not self.seen.is_set():
            if time.monotonic() >= deadline:
                self.full.append(1)
                break
        return [LogMetric("r", "expanded", 1.0, 0, 0)]


def test_the_flusher_lets_app_threads_run_while_it_expands_calls() -> None:
    """With a switch interval too long to ever force a switch, an app thread waiting for the
    GIL still runs within a few records of the flusher's work, not after all of it."""
    manager = manager_for(tracklm.get_tracking_uri())
    release = _stall_flusher(manager)
    seen = threading.Event()
    full: list[int] = []
    for _ in range(500):  # 1 s of expanding if nothing else ran
        manager.submit(_Spinning(seen, full))  # type: ignore[arg-type]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        release.set()
        time.sleep(0.01)  # the flusher takes the GIL and starts expanding
        app = threading.Thread(target=seen.set)
        app.start()  # this thread, then the new one, get the GIL only when the flusher yields
        app.join(30)
    finally:
        sys.setswitchinterval(interval)
    assert manager.flush(timeout=30).written == 501  # the stalled warm-up record and the 500
    assert seen.is_set()
    assert len(full) < 50  # without yielding: all 500


class _Payload:
    """Stands for an SDK's response that an autologged call holds until it is expanded."""


class _Holding:
    """A deferred record holding a payload; its expansion notes how many of the payloads of
    the records expanded before it are still alive."""

    def __init__(self, payloads: list[weakref.ref[_Payload]], alive: list[int]) -> None:
        self.payload = _Payload()
        self.earlier = list(payloads)
        payloads.append(weakref.ref(self.payload))
        self.alive = alive

    def expand(self) -> list[LogMetric]:
        self.alive.append(sum(ref() is not None for ref in self.earlier))
        return [LogMetric("r", "expanded", 1.0, 0, 0)]


def test_the_flusher_frees_each_call_once_expanded_not_at_the_end_of_its_batch() -> None:
    """What a call holds (the SDK's request and response objects) is freed as soon as its
    rows are made: kept to the end of a batch, thousands of them would make the garbage
    collector run, and move them into its oldest generation."""
    manager = manager_for(tracklm.get_tracking_uri())
    release = _stall_flusher(manager)
    payloads: list[weakref.ref[_Payload]] = []
    alive: list[int] = []
    for _ in range(50):
        manager.submit(_Holding(payloads, alive))  # type: ignore[arg-type]
    release.set()
    assert manager.flush(timeout=30).written == 51
    assert alive == [0] * 50
    assert all(ref() is None for ref in payloads)


class _Costly:
    """A deferred record whose expansion takes 0.1 ms of the flusher's time (an LLM call's)."""

    def expand(self) -> list[LogMetric]:
        deadline = time.perf_counter() + 0.0001
        while time.perf_counter() < deadline:
            pass
        return [LogMetric("r", "expanded", 1.0, 0, 0)]


def test_an_app_thread_that_keeps_the_gil_busy_does_not_starve_the_flusher() -> None:
    """An app thread computing, releasing the GIL only for a system call now and then, wins it
    back before the flusher ever gets it (the interpreter forces a switch only after a whole
    switch interval without one): without help the flusher would not run at all while the app
    computes, and records would pile up instead of reaching the store within about 100 ms."""
    manager = manager_for(tracklm.get_tracking_uri())
    manager.submit(LogMetric("r", "warmup", 0.0, 0, 0))
    assert manager.flush(timeout=30).written == 1
    waiting = []
    for _ in range(1_500):  # ~1 s: 0.5 ms of computing per record, as an app between calls
        deadline = time.perf_counter() + 0.0005
        while time.perf_counter() < deadline:
            pass
        os.urandom(8)  # a system call: the GIL released for a moment
        manager.submit(_Costly())  # type: ignore[arg-type]
        waiting.append(len(manager._buffer))
    assert max(waiting[750:]) < 700  # without help: every record still waits, 750 to 1,500
    assert manager.flush(timeout=30).written == 1_501
