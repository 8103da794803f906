"""An app exits while tracklm's writer is stuck, or with streams still open: the process ends
within ``TRACKLM_EXIT_TIMEOUT`` (plus the interpreter's own teardown), never hangs, and what
was not written is in a journal the next process writes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tracklm
from tracklm.testing import LLMServer

from ..run_manager._subprocess import WriteLockHolder, env_for, start
from ._app import API_KEY, assert_store_whole, rows

EXIT_TIMEOUT = 1.0
TEARDOWN = 5.0
"""Seconds the interpreter may take to tear down after tracklm's exit flush, on a loaded
machine; a hang would take the process's whole timeout."""

# An app whose store hangs in a write (after STALL_AFTER calls); WITH_JOURNAL: the store was
# locked first, so the stuck write is the replay of the journal, holding the journal's lock.
STUCK = """
import json, os, sys, threading, time
import openai, tracklm
from tracklm.stores.sqlite import SQLiteStore
from tracklm.testing import LLMServer

tracklm.autolog()
server = LLMServer().start()
chat = openai.OpenAI(api_key=os.environ["FAULT_API_KEY"], base_url=server.openai_base_url,
                     max_retries=0).chat.completions
for i in range(5):
    chat.create(model="m", messages=[{"role": "user", "content": f"call {i}"}])
assert tracklm.flush(timeout=30).ok

write = SQLiteStore.write_batch
guard, stuck = threading.Lock(), threading.Event()
hanging, writing = False, 0
def write_or_hang(self, batch):
    global writing
    with guard:
        stalled = hanging
        writing += not stalled
    if stalled:
        stuck.set()
        time.sleep(300)  # a store that never answers (a dead network file system)
    try:
        return write(self, batch)
    finally:
        with guard:
            writing -= 1
SQLiteStore.write_batch = write_or_hang
def hang_from_now():
    global hanging
    with guard:
        hanging = True
    while writing:  # a write already under way (a retry meeting the lock) ends first
        time.sleep(0.01)
if os.environ.get("WITH_JOURNAL"):
    print("lock", flush=True)
    sys.stdin.readline()  # the test holds the store's lock now
    for i in range(5, 10):
        chat.create(model="m", messages=[{"role": "user", "content": f"call {i}"}])
    assert tracklm.flush(timeout=1).pending > 0  # journaled
    hang_from_now()
    print("unlock", flush=True)
    sys.stdin.readline()  # the lock is gone: the writer replays the journal, and hangs
else:
    hang_from_now()
    for i in range(5, 10):
        chat.create(model="m", messages=[{"role": "user", "content": f"call {i}"}])
assert stuck.wait(30)
for i in range(10, 15):  # and more, behind the stuck write
    chat.create(model="m", messages=[{"role": "user", "content": f"call {i}"}])
print(json.dumps({"exiting": time.time()}), flush=True)
exit()
"""


def _ended_within(out: str) -> float:
    """Seconds between the app's last statement and now, when its process has ended."""
    return time.time() - json.loads(out.splitlines()[-1])["exiting"]


@pytest.mark.parametrize("with_journal", [False, True], ids=["store-write", "journal-replay"])
def test_exit_while_the_writer_is_stuck_ends_in_time_and_journals_the_rest(
    store_dir: Path, tmp_path: Path, with_journal: bool
) -> None:
    env = env_for(
        store_dir,
        tmp_path / "journal",
        FAULT_API_KEY=API_KEY,
        TRACKLM_EXIT_TIMEOUT=str(EXIT_TIMEOUT),
        **({"WITH_JOURNAL": "1"} if with_journal else {}),
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        if with_journal:
            assert proc.stdout.readline().strip() == "lock"
            holder = WriteLockHolder(store_dir / "tracklm.db")
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "unlock"
            holder.release()
            proc.stdin.write("go\n")
            proc.stdin.flush()
        out, err = proc.communicate(timeout=120)
        took = _ended_within(out)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert took < EXIT_TIMEOUT + TEARDOWN, err
    assert "not yet in the store (kept in the journal" in err

    # the next process writes what the stuck one could not: every call, once
    stored = sorted(json.loads(r["inputs"])[0]["content"] for r in rows())
    assert stored == sorted(f"call {i}" for i in range(15))
    assert tracklm.search_runs()["status"].tolist() == ["FINISHED"]  # ended at exit
    assert not any((tmp_path / "journal").rglob("*.jsonl"))
    assert_store_whole(store_dir)


OPEN_STREAMS = """
import asyncio, json, os, time
import openai, tracklm

tracklm.autolog()
key, url = os.environ["FAULT_API_KEY"], os.environ["FAULT_BASE_URL"]
client = openai.OpenAI(api_key=key, base_url=url, max_retries=0)
streams = []
for i in range(3):  # read one chunk of each, then leave them open
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"stream {i} " + "word " * 40}],
        stream=True)
    next(iter(stream))
    streams.append(stream)
with client.chat.completions.with_streaming_response.create(
        model="m", messages=[{"role": "user", "content": "raw"}]) as raw:
    pass  # never read

async def open_async():
    aio = openai.AsyncOpenAI(api_key=key, base_url=url, max_retries=0)
    stream = await aio.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "async " + "word " * 40}], stream=True)
    await stream.__anext__()
    return aio, stream

kept = asyncio.run(open_async())
print(json.dumps({"exiting": time.time()}), flush=True)
"""


def test_an_interpreter_shutdown_with_streams_open_ends_in_time_and_keeps_their_rows(
    store_dir: Path, tmp_path: Path
) -> None:
    with LLMServer(chunk_delay=0.5) as slow:  # each stream would take 20 s to the end
        env = env_for(
            store_dir,
            tmp_path / "journal",
            FAULT_API_KEY=API_KEY,
            FAULT_BASE_URL=slow.openai_base_url,
            TRACKLM_EXIT_TIMEOUT=str(EXIT_TIMEOUT),
        )
        proc = start(OPEN_STREAMS, env)
        try:
            out, err = proc.communicate(timeout=120)
            took = _ended_within(out)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert took < EXIT_TIMEOUT + TEARDOWN, err

    stored = rows()
    assert len(stored) == 5  # every call that returned: three streams, the raw one, async
    assert {r["status"] for r in stored} == {"ok"}
    assert sum(r["stream"] for r in stored) == 4
    assert tracklm.search_runs()["status"].tolist() == ["FINISHED"]
