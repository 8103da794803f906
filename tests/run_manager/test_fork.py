"""After fork the child has its own buffer, thread and journal; nothing is written twice."""

from __future__ import annotations

import os
import sys

import pytest

import tracklm
from tracklm._run_manager import RunManager

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def test_fork_with_records_pending_writes_each_record_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child must not write the parent's buffered records, nor deadlock on its locks."""
    # keep the parent's records in the buffer at the moment of the fork
    monkeypatch.setattr(RunManager, "INTERVAL", 3600.0)
    monkeypatch.setattr(RunManager, "BATCH_SIZE", 10**9)
    run = tracklm.start_run(run_name="forked")
    for i in range(100):
        tracklm.log_metric("parent", i, step=i)
    client = tracklm.TracklmClient()
    assert client._manager.result().pending > 0

    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            assert client._manager.result().pending == 0  # the parent's records are not ours
            tracklm.log_metric("child", 1.0)
            result = tracklm.flush(timeout=30)
            code = 0 if result.written == 1 and result.ok else 2
        except BaseException:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(code)

    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    tracklm.end_run()
    assert tracklm.flush(timeout=30).ok
    assert len(client.get_metric_history(run.info.run_id, "parent")) == 100
    assert len(client.get_metric_history(run.info.run_id, "child")) == 1


def test_random_ids_differ_in_a_forked_child_and_need_no_system_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Call and batch ids are drawn without reading the OS's random source (which releases
    the GIL: the flusher would wait a switch interval for it at every id), and a forked child
    does not draw its parent's ids."""
    from tracklm._random_ids import random_hex

    def no_urandom(n: int) -> bytes:
        raise AssertionError("os.urandom was called")

    monkeypatch.setattr(os, "urandom", no_urandom)
    ids = {random_hex() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    monkeypatch.undo()

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.write(write, random_hex().encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child != random_hex()
    assert len(child) == 32
