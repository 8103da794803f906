"""Opting out: per block, per function (sync, async, generators), per process at call time."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

import tracklm

from . import fake_sdk


@pytest.fixture
def client(installed: Callable[..., None]) -> fake_sdk.Client:
    tracklm.autolog()
    return fake_sdk.Client()


def _inputs(run_id: str) -> list[str]:
    assert tracklm.flush(timeout=30).ok
    try:
        frame = tracklm.load_table("predictions.csv", run_ids=[run_id])
    except tracklm.TableNotFound:
        return []
    return list(frame["inputs"])


def test_autolog_disabled_skips_the_block_only(client: fake_sdk.Client) -> None:
    with tracklm.start_run() as run:
        with tracklm.autolog_disabled():
            client.generate("hidden", model="m1")
        client.generate("seen", model="m1")
    assert _inputs(run.info.run_id) == ["seen"]


def test_no_autolog_on_functions_coroutines_and_generators(client: fake_sdk.Client) -> None:
    @tracklm.no_autolog
    def plain() -> object:
        return client.generate("plain", model="m1")

    @tracklm.no_autolog
    async def coroutine() -> object:
        return await client.agenerate("coroutine", model="m1")

    @tracklm.no_autolog
    def generator() -> Iterator[object]:
        yield client.generate("generator", model="m1")
        yield client.generate("generator again", model="m1")

    @tracklm.no_autolog
    async def async_generator() -> AsyncIterator[object]:
        yield await client.agenerate("async generator", model="m1")

    async def consume() -> None:
        await coroutine()
        async for _ in async_generator():
            client.generate("between async steps", model="m1")  # the caller's code: recorded

    with tracklm.start_run() as run:
        plain()
        for _ in generator():
            client.generate("between steps", model="m1")  # the caller's code: recorded
        asyncio.run(consume())
    assert _inputs(run.info.run_id) == ["between steps", "between steps", "between async steps"]


def test_opting_out_in_one_task_does_not_affect_another(client: fake_sdk.Client) -> None:
    async def quiet(started: asyncio.Event, done: asyncio.Event) -> None:
        with tracklm.autolog_disabled():
            started.set()
            await done.wait()  # stays opted out while the other task records
            await client.agenerate("quiet", model="m1")

    async def loud(started: asyncio.Event, done: asyncio.Event) -> None:
        await started.wait()
        await client.agenerate("loud", model="m1")
        done.set()

    async def main() -> None:
        started, done = asyncio.Event(), asyncio.Event()
        await asyncio.gather(quiet(started, done), loud(started, done))

    with tracklm.start_run() as run:
        asyncio.run(main())
    assert _inputs(run.info.run_id) == ["loud"]


def test_the_environment_kill_switch_is_read_at_call_time(
    client: fake_sdk.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tracklm.start_run() as run:
        monkeypatch.setenv("TRACKLM_AUTOLOG_DISABLED", "1")
        client.generate("off", model="m1")
        monkeypatch.setenv("TRACKLM_AUTOLOG_DISABLED", "0")
        client.generate("on", model="m1")
    assert _inputs(run.info.run_id) == ["on"]


def test_the_kill_switch_is_read_where_os_environ_was_replaced_by_another_mapping(
    client: fake_sdk.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = dict(os.environ)
    monkeypatch.setattr(os, "environ", environ)
    with tracklm.start_run() as run:
        environ["TRACKLM_AUTOLOG_DISABLED"] = "1"
        client.generate("off", model="m1")
        del environ["TRACKLM_AUTOLOG_DISABLED"]
        client.generate("on", model="m1")
    assert _inputs(run.info.run_id) == ["on"]
