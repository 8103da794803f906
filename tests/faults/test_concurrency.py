"""Four processes of eight threads, each running asyncio tasks, log into one store at once; one
of them forks while records are pending. Every call and every explicit record arrives exactly
once, in the run it was made in."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

import tracklm
from tracklm.testing import LLMServer

from ..run_manager._subprocess import env_for, start
from ._app import API_KEY, assert_store_whole, rows

PROCESSES, THREADS, TASKS, CALLS = 4, 8, 3, 3
FORKED_CALLS, PRE_FORK_METRICS = 3, 2000

APP = """
import asyncio, json, os, sys, threading
import openai, tracklm

tracklm.autolog()
proc, url, key = os.environ["PROC"], os.environ["FAULT_BASE_URL"], os.environ["FAULT_API_KEY"]
THREADS, TASKS, CALLS = (int(os.environ[k]) for k in ("THREADS", "TASKS", "CALLS"))


async def task(t, k, aio):
    # each task logs into a run of its own (the active run belongs to the task)
    async with aio:
        with tracklm.start_run(run_name=f"p{proc}-t{t}-k{k}"):
            for i in range(CALLS):
                tag = [{"role": "user", "content": f"p{proc}-t{t}-k{k}-c{i}"}]
                if i % 2:
                    stream = await aio.chat.completions.create(model="m", messages=tag,
                                                               stream=True)
                    async for _ in stream:
                        pass
                else:
                    await aio.chat.completions.create(model="m", messages=tag)
                tracklm.log_metric("calls", i + 1, step=i)


def thread_main(t):
    with openai.OpenAI(api_key=key, base_url=url, max_retries=0) as sync:  # no run: autolog's
        sync.chat.completions.create(model="m", messages=[
            {"role": "user", "content": f"p{proc}-t{t}-sync"}])
    clients = [openai.AsyncOpenAI(api_key=key, base_url=url, max_retries=0) for _ in range(TASKS)]
    started.wait()

    async def tasks():
        await asyncio.gather(*(task(t, k, aio) for k, aio in enumerate(clients)))

    asyncio.run(tasks())


# Hazards of fork with threads, not tracklm's: a child forked while another thread imports a
# module, or loads certificates into an SSL context (OpenSSL holds a lock meanwhile), waits
# forever for that lock. So the threads import what they use and make their clients (each one
# an SSL context) before the fork, and afterwards speak plain HTTP only.
with tracklm.autolog_disabled(), openai.OpenAI(api_key=key, base_url=url) as warm:
    warm.chat.completions.create(model="m", messages=[{"role": "user", "content": "warm"}])
    asyncio.run(asyncio.sleep(0))
started = threading.Barrier(THREADS + 1)
threads = [threading.Thread(target=thread_main, args=(t,)) for t in range(THREADS)]
for thread in threads:
    thread.start()
started.wait()

pending_at_fork = None
if proc == "0":  # fork while records are pending, with the other threads busy
    with tracklm.start_run(run_name="before-fork"):
        for i in range(int(os.environ["PRE_FORK_METRICS"])):
            tracklm.log_metric("pre_fork", i, step=i)
        pending_at_fork = tracklm.flush(timeout=0).pending
        pid = os.fork()
        if pid == 0:  # the child: its own runs and calls, then a normal exit (exit flush)
            with openai.OpenAI(api_key=key, base_url=url, max_retries=0) as sync:
                with tracklm.start_run(run_name="forked-child", nested=True):
                    for i in range(int(os.environ["FORKED_CALLS"])):
                        sync.chat.completions.create(model="m", messages=[
                            {"role": "user", "content": f"forked-c{i}"}])
                        tracklm.log_metric("child", i, step=i)
            sys.exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status

for thread in threads:
    thread.join()
print(json.dumps({"flush": list(tracklm.flush(timeout=60).__dict__.values()),
                  "pending_at_fork": pending_at_fork}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_processes_threads_tasks_and_a_fork_log_every_record_once(
    server: LLMServer, store_dir: Path, tmp_path: Path
) -> None:
    tracklm.TracklmClient().list_experiments()  # the store exists before they race
    sizes = {"THREADS": THREADS, "TASKS": TASKS, "CALLS": CALLS}
    env = env_for(
        store_dir,
        tmp_path / "journal",
        FAULT_API_KEY=API_KEY,
        FAULT_BASE_URL=server.openai_base_url,
        FORKED_CALLS=str(FORKED_CALLS),
        PRE_FORK_METRICS=str(PRE_FORK_METRICS),
        **{k: str(v) for k, v in sizes.items()},
    )
    procs = [start(APP, {**env, "PROC": str(p)}) for p in range(PROCESSES)]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err  # (a write that met another's lock is journaled)
        reports.append(json.loads(out.splitlines()[-1]))
    # all in the store (none left in a journal for a later process), none dropped
    assert [r["flush"][1:] for r in reports] == [[0, 0]] * PROCESSES
    assert reports[0]["pending_at_fork"] > 0

    stored = rows(list(tracklm.search_runs()["run_id"]))
    texts = Counter(json.loads(r["inputs"])[0]["content"] for r in stored)
    expected = [
        f"p{p}-t{t}-k{k}-c{i}"
        for p in range(PROCESSES)
        for t in range(THREADS)
        for k in range(TASKS)
        for i in range(CALLS)
    ]
    expected += [f"p{p}-t{t}-sync" for p in range(PROCESSES) for t in range(THREADS)]
    expected += [f"forked-c{i}" for i in range(FORKED_CALLS)]
    assert texts == Counter(expected)  # each call once, none lost, none twice
    assert len({r["call_id"] for r in stored}) == len(stored)

    runs = tracklm.search_runs()
    by_name = dict(zip(runs["run_name"], runs["run_id"], strict=True))
    client = tracklm.TracklmClient()
    for p in range(PROCESSES):
        for t in range(THREADS):
            for k in range(TASKS):
                run_id = by_name[f"p{p}-t{t}-k{k}"]
                table = tracklm.load_table("predictions.csv", run_ids=[run_id])
                assert sorted(json.loads(x)[0]["content"] for x in table["inputs"]) == [
                    f"p{p}-t{t}-k{k}-c{i}" for i in range(CALLS)
                ]
                assert len(client.get_metric_history(run_id, "calls")) == CALLS
    statuses = dict(zip(runs["run_name"], runs["status"], strict=True))
    # the child left the parent's `with` block by sys.exit: the run stays the parent's to end
    assert (statuses["before-fork"], statuses["forked-child"]) == ("FINISHED", "FINISHED")
    pre_fork = client.get_metric_history(by_name["before-fork"], "pre_fork")
    assert [m.step for m in pre_fork] == list(range(PRE_FORK_METRICS))  # once: not the child
    child = client.get_metric_history(by_name["forked-child"], "child")
    assert [m.value for m in child] == [float(i) for i in range(FORKED_CALLS)]
    autolog_runs = runs[runs["tags.tracklm.autolog"] == "true"]
    assert len(autolog_runs) == PROCESSES
    assert set(autolog_runs["status"]) == {"FINISHED"}
    assert_store_whole(store_dir)
