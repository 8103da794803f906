"""Concurrent tasks each record into their own run; opting out is per task."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import openai
from openai_support import aclient, client, user

import tracklm
from tracklm.testing import LLMServer

TASKS = 200


def _rows_by_run(run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    assert tracklm.flush(timeout=60).ok
    frame = tracklm.load_table("predictions.csv", run_ids=run_ids, extra_columns=["run_id"])
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in frame.astype(object).where(frame.notna(), None).to_dict(orient="records"):
        found[record["run_id"]].append(record)
    return found


def test_concurrent_tasks_each_in_its_own_run_get_exactly_their_own_rows(
    server: LLMServer,
) -> None:
    async def task(aio: openai.AsyncOpenAI, number: int) -> str:
        with tracklm.start_run(run_name=f"task-{number}") as run:
            await aio.chat.completions.create(model=f"m-{number}", messages=user(f"t{number}"))
            stream = await aio.chat.completions.create(
                model=f"m-{number}", messages=user(f"s{number}"), stream=True
            )
            async for _ in stream:
                await asyncio.sleep(0)  # let the other tasks run mid-stream
            return run.info.run_id

    async def main() -> list[str]:
        # retries absorb a connection refused when 200 sockets open at once
        async with aclient(server, max_retries=3) as aio:
            return await asyncio.gather(*(task(aio, n) for n in range(TASKS)))

    run_ids = asyncio.run(main())

    assert len(set(run_ids)) == TASKS
    found = _rows_by_run(run_ids)
    for number, run_id in enumerate(run_ids):
        got = sorted(found[run_id], key=lambda r: int(r["step"]))
        assert [(r["step"], r["model"], r["outputs"], r["stream"]) for r in got] == [
            (1, f"m-{number}", f"echo: t{number}", False),
            (2, f"m-{number}", f"echo: s{number}", True),
        ]
    assert sum(len(v) for v in found.values()) == 2 * TASKS


def test_opting_out_in_one_task_leaves_the_task_beside_it_recording(server: LLMServer) -> None:
    opted_out_inside = asyncio.Event()
    recorded_beside = asyncio.Event()

    @tracklm.no_autolog
    async def decorated(aio: openai.AsyncOpenAI) -> None:
        await aio.chat.completions.create(model="quiet", messages=user("decorated"))

    async def quiet(aio: openai.AsyncOpenAI) -> str:
        with tracklm.start_run() as run:
            with tracklm.autolog_disabled():
                opted_out_inside.set()
                await recorded_beside.wait()  # the other task records meanwhile
                await aio.chat.completions.create(model="quiet", messages=user("hidden"))
            await decorated(aio)
            return run.info.run_id

    async def loud(aio: openai.AsyncOpenAI) -> str:
        with tracklm.start_run() as run:
            await opted_out_inside.wait()
            await aio.chat.completions.create(model="loud", messages=user("seen"))
            recorded_beside.set()
            return run.info.run_id

    async def main() -> tuple[str, str]:
        async with aclient(server) as aio:
            return await asyncio.gather(quiet(aio), loud(aio))

    quiet_run, loud_run = asyncio.run(main())

    assert len(server.requests) == 3
    found = _rows_by_run([quiet_run, loud_run])
    assert quiet_run not in found
    assert [r["outputs"] for r in found[loud_run]] == ["echo: seen"]


def test_calls_outside_any_run_go_to_one_autolog_run(server: LLMServer) -> None:
    chat = client(server).chat.completions
    chat.create(model="m", messages=user("first"))
    chat.create(model="m", messages=user("second"))

    assert tracklm.flush(timeout=30).ok
    runs = tracklm.search_runs(filter_string="tags.`tracklm.autolog` = 'true'")
    assert len(runs) == 1
    found = tracklm.load_table("predictions.csv", run_ids=list(runs["run_id"]))
    assert list(found["outputs"]) == ["echo: first", "echo: second"]
    assert list(found["step"]) == [1, 2]
