"""A burst of calls far beyond the buffer, while the store hangs: autolog never makes a call
wait - past the buffer's capacity it drops the newest records and counts them - explicit
logging waits for room instead, memory stays bounded, and ``flush()`` says what happened.

The openai SDK costs about a millisecond a call even over httpx's ``MockTransport``, so 200,000
calls would take minutes: the buffer is made small (500 records) and the burst ten times its
size, which is the ratio that matters. The autolog path and the run manager are the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import tracklm

from ..run_manager._subprocess import env_for, run
from ._app import API_KEY, measurements, rows

CAPACITY = 500
CALLS = 10 * CAPACITY

BURST = """
import importlib, json, os, threading, time
import openai, tracklm
from tracklm._run_manager import RunManager
from tracklm.stores.sqlite import SQLiteStore

RunManager.CAPACITY = int(os.environ["CAPACITY"])
CALLS = int(os.environ["CALLS"])
httpx = importlib.import_module(openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])


def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reply(request):
    asked = json.loads(request.content)["messages"][0]["content"]
    body = {
        "id": "chatcmpl-burst", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": asked + " " + "x" * 20_000}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    return httpx.Response(200, json=body)


tracklm.autolog()
client = openai.OpenAI(api_key=os.environ["FAULT_API_KEY"], base_url="http://llm.invalid/v1",
                       http_client=httpx.Client(transport=httpx.MockTransport(reply)))
chat = client.chat.completions
chat.create(model="m", messages=[{"role": "user", "content": "warm-up"}])
explicit = tracklm.start_run(run_name="explicit")
assert tracklm.flush(timeout=30).ok

# the store hangs: its writer falls behind
release = threading.Event()
write = SQLiteStore.write_batch
SQLiteStore.write_batch = lambda self, batch: (release.wait(), write(self, batch))[1]
chat.create(model="m", messages=[{"role": "user", "content": "stall"}])
time.sleep(0.3)  # the writer is now stuck in the store

slowest, rss = 0.0, {}
started = time.perf_counter()
for i in range(CALLS):
    t = time.perf_counter()
    answer = chat.create(model="m", messages=[{"role": "user", "content": f"burst {i}"}])
    slowest = max(slowest, time.perf_counter() - t)
    assert answer.choices[0].message.content.startswith(f"burst {i} x")
    if i + 1 in (2 * RunManager.CAPACITY, CALLS):
        rss[i + 1] = rss_mb()
burst_seconds = time.perf_counter() - started
during = tracklm.flush(timeout=0.5)

# a run started and ended while the buffer is full: neither waits, neither is dropped
t = time.perf_counter()
with tracklm.start_run(run_name="while-full", nested=True) as while_full:
    pass
run_seconds = time.perf_counter() - t

# explicit logging waits for room instead of dropping
done = threading.Event()
def log_explicitly():
    for i in range(10):
        tracklm.log_metric("explicit", i, step=i)
    done.set()
thread = threading.Thread(target=tracklm.carry_context(log_explicitly))
thread.start()
waited = not done.wait(1.0)
release.set()  # the store answers again
thread.join(60)
explicit.__exit__(None, None, None)
after = tracklm.flush(timeout=120)
print(json.dumps({
    "burst_seconds": burst_seconds, "slowest": slowest, "rss": rss,
    "during": [during.written, during.pending, during.dropped],
    "after": [after.written, after.pending, after.dropped],
    "waited": waited, "explicit_done": done.is_set(), "explicit_run": explicit.info.run_id,
    "run_seconds": run_seconds, "while_full": while_full.info.run_id,
}))
"""


def test_a_burst_beyond_the_buffer_drops_and_counts_autolog_records_only(
    store_dir: Path, tmp_path: Path
) -> None:
    env = env_for(
        store_dir,
        tmp_path / "journal",
        FAULT_API_KEY=API_KEY,
        CAPACITY=str(CAPACITY),
        CALLS=str(CALLS),
    )
    report = json.loads(run(BURST, env, timeout=300).stdout)

    # the calls never waited for the hung store
    assert report["slowest"] < 1.0
    dropped = report["after"][2]
    assert report["during"][2] == dropped  # every drop happened in the burst, counted then
    assert CALLS - CAPACITY <= dropped < CALLS  # the buffer took what it could hold
    # explicit logging waited for room, and lost nothing; a run's start and end did not wait
    assert report["waited"]
    assert report["explicit_done"]
    assert report["run_seconds"] < 1.0
    assert tracklm.get_run(report["while_full"]).info.status == "FINISHED"
    assert report["after"][1] == 0
    # memory: bounded by the buffer, not by the number of calls (each holds a 20 KB answer)
    growth = report["rss"][str(CALLS)] - report["rss"][str(2 * CAPACITY)]
    assert growth < 40, report["rss"]
    measurements.append(
        f"burst of {CALLS} calls (buffer {CAPACITY}) against a hung store: {dropped} dropped and "
        f"counted, slowest call {report['slowest'] * 1000:.1f} ms, RSS +{growth:.1f} MB from "
        f"{2 * CAPACITY} to {CALLS} calls, {report['burst_seconds']:.1f} s"
    )

    stored = rows()
    kept = [r for r in stored if r["inputs"] and "burst" in r["inputs"]]
    assert len(kept) + dropped == CALLS  # every call: stored, or counted as dropped
    assert len(stored) == len(kept) + 2  # and the warm-up and stalled calls
    history = tracklm.TracklmClient().get_metric_history(report["explicit_run"], "explicit")
    assert [m.value for m in history] == [float(i) for i in range(10)]
