"""The active run is per thread and per asyncio task: concurrent work logs into its own run."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import tracklm


def _log_own_run(index: int, run_ids: dict[int, str], barrier: threading.Barrier) -> None:
    with tracklm.start_run(run_name=f"worker-{index}") as run:
        run_ids[index] = run.info.run_id
        barrier.wait()  # every thread is inside its own run at the same time
        for step in range(5):
            tracklm.log_metric("worker", index, step=step)
        tracklm.log_param("index", index)


def test_fifty_threads_each_log_into_their_own_run() -> None:
    run_ids: dict[int, str] = {}
    barrier = threading.Barrier(50)
    threads = [threading.Thread(target=_log_own_run, args=(i, run_ids, barrier)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    client = tracklm.TracklmClient()
    assert len(set(run_ids.values())) == 50
    for index, run_id in run_ids.items():
        run = client.get_run(run_id)
        assert run.data.params == {"index": str(index)}
        history = client.get_metric_history(run_id, "worker")
        assert [m.value for m in history] == [float(index)] * 5
        assert run.info.status == "FINISHED"


def test_five_hundred_tasks_each_log_into_their_own_run() -> None:
    async def task(index: int, started: asyncio.Event, count: list[int]) -> str:
        with tracklm.start_run(run_name=f"task-{index}") as run:
            count[0] += 1
            if count[0] == 500:
                started.set()
            await started.wait()  # all 500 runs are active at once
            tracklm.log_metric("task", index)
            await asyncio.sleep(0)
            tracklm.set_tag("task", str(index))
            return run.info.run_id

    async def main() -> list[str]:
        started = asyncio.Event()
        count = [0]
        return await asyncio.gather(*(task(i, started, count) for i in range(500)))

    run_ids = asyncio.run(main())
    assert tracklm.active_run() is None
    frame = tracklm.search_runs()
    assert len(frame) == 500
    by_id = frame.set_index("run_id")
    for index, run_id in enumerate(run_ids):
        assert by_id.loc[run_id, "metrics.task"] == index
        assert by_id.loc[run_id, "tags.task"] == str(index)


def test_carry_context_hands_the_active_run_to_a_thread_pool() -> None:
    with tracklm.start_run() as run, ThreadPoolExecutor(4) as pool:
        list(
            pool.map(tracklm.carry_context(lambda i: tracklm.log_metric("m", i, step=i)), range(20))
        )
    history = tracklm.TracklmClient().get_metric_history(run.info.run_id, "m")
    assert sorted(m.step for m in history) == list(range(20))


def test_a_plain_thread_does_not_see_the_callers_run() -> None:
    seen: list[object] = []
    with tracklm.start_run():
        thread = threading.Thread(target=lambda: seen.append(tracklm.active_run()))
        thread.start()
        thread.join()
    assert seen == [None]
