"""A streamed call is finished exactly once, however the caller leaves the stream."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import tracklm
from tracklm.autolog import set_strict

from . import fake_sdk
from .fake_integration import KeepingIntegration, RawBodyIntegration


@pytest.fixture
def client(installed: Callable[..., None]) -> fake_sdk.Client:
    tracklm.autolog()
    return fake_sdk.Client()


def _rows(run_id: str) -> list[dict[str, object]]:
    assert tracklm.flush(timeout=30).ok
    frame = tracklm.load_table("predictions.csv", run_ids=[run_id])
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def test_the_stream_keeps_its_type_and_attributes(client: fake_sdk.Client) -> None:
    with tracklm.start_run():
        stream = client.generate("a b", model="m1", stream=True)
        assert isinstance(stream, fake_sdk.Stream)
        assert stream.closed is False
        assert list(stream) == ["echo:", "a", "b"]


def test_an_exhausted_stream_gives_one_row_with_the_text_and_ttft(
    client: fake_sdk.Client,
) -> None:
    with tracklm.start_run() as run:
        for _ in client.generate("a b c", model="m1", stream=True):
            pass
    (row,) = _rows(run.info.run_id)
    assert (row["outputs"], row["stream"], row["status"]) == ("echo: a b c", True, "ok")
    assert 0 <= float(row["ttft_ms"]) <= float(row["latency_ms"])  # type: ignore[arg-type]
    assert row["output_tokens"] is None  # no usage in the stream: unknown, not 0


def test_a_stream_left_by_with_gives_one_row(client: fake_sdk.Client) -> None:
    with tracklm.start_run() as run:
        with client.generate("a b c", model="m1", stream=True) as stream:  # type: ignore[union-attr]
            next(iter(stream))
        assert stream.closed
    (row,) = _rows(run.info.run_id)
    assert row["outputs"] == "echo:"


def test_a_stream_broken_out_of_and_dropped_gives_one_row(client: fake_sdk.Client) -> None:
    with tracklm.start_run() as run:
        for word in client.generate("a b c", model="m1", stream=True):  # type: ignore[union-attr]
            if word == "a":
                break
        gc.collect()
    (row,) = _rows(run.info.run_id)
    assert row["outputs"] == "echo: a"


def test_a_stream_never_iterated_and_dropped_gives_one_row(client: fake_sdk.Client) -> None:
    with tracklm.start_run() as run:
        stream = client.generate("a", model="m1", stream=True)
        del stream
        gc.collect()
    (row,) = _rows(run.info.run_id)
    assert (row["outputs"], row["ttft_ms"], row["status"]) == (None, None, "ok")


def test_a_closed_stream_gives_one_row_even_if_iterated_again(client: fake_sdk.Client) -> None:
    with tracklm.start_run() as run:
        stream = client.generate("a b", model="m1", stream=True)
        next(stream)  # type: ignore[call-overload]
        stream.close()  # type: ignore[union-attr]
        assert list(stream) == ["a", "b"]  # the fake keeps yielding; the row is done
        del stream
        gc.collect()
    (row,) = _rows(run.info.run_id)
    assert row["outputs"] == "echo:"


def test_a_stream_failing_midway_reraises_and_records_the_error(
    client: fake_sdk.Client,
) -> None:
    with tracklm.start_run() as run:
        stream = client.generate("a b c", model="m1", stream=True, fail_after=2)
        seen: list[str] = []
        with pytest.raises(fake_sdk.SDKError, match="mid-stream"):
            seen.extend(stream)  # type: ignore[arg-type]
    assert seen == ["echo:", "a"]
    (row,) = _rows(run.info.run_id)
    assert row["status"] == "error"
    assert row["error"] == "SDKError: connection lost mid-stream"
    assert row["outputs"] == "echo: a"  # what arrived before the failure


def test_the_reader_gets_what_keep_makes_of_each_chunk_and_the_caller_the_chunk(
    installed: Callable[..., None],
) -> None:
    installed(KeepingIntegration())
    tracklm.autolog()
    with tracklm.start_run() as run:
        seen = list(fake_sdk.Client().generate("a b", model="m1", stream=True))
    assert seen == ["echo:", "a", "b"]
    (row,) = _rows(run.info.run_id)
    assert row["outputs"] == "ECHO: A B"


def test_a_keep_that_raises_keeps_the_chunk_and_leaves_the_stream_alone(
    installed: Callable[..., None],
) -> None:
    installed(KeepingIntegration())
    tracklm.autolog()
    set_strict(False)  # the shield logs instead of raising
    with tracklm.start_run() as run:
        seen = list(fake_sdk.Client().generate("a boom b", model="m1", stream=True))
    assert seen == ["echo:", "a", "boom", "b"]
    (row,) = _rows(run.info.run_id)
    assert row["outputs"] == "ECHO: A boom B"


def test_a_stream_given_its_raw_body_is_recorded_from_it_not_from_its_chunks(
    installed: Callable[..., None],
) -> None:
    installed(RawBodyIntegration())
    tracklm.autolog()
    with tracklm.start_run() as run:
        seen = list(fake_sdk.Client().generate("a b", model="m1", stream=True))
    assert seen == ["echo:", "a", "b"]
    (row,) = _rows(run.info.run_id)
    assert row["outputs"] == "ECHO: A B"  # the pieces read, as the integration kept them


def test_a_forwarding_proxys_stream_is_watched_as_what_it_wraps_each_time() -> None:
    # the async kind is remembered per class, but not for a class that answers for another
    # object (here, a sync iterator then an async one in the same proxy class)
    from types import SimpleNamespace

    import wrapt

    from tracklm.autolog import _streams

    async def numbers() -> AsyncIterator[int]:
        yield 1

    class Forwarding(wrapt.ObjectProxy):  # type: ignore[type-arg]
        pass

    call: Any = SimpleNamespace(stream_ended=lambda *args, **kwargs: None)
    watches = [
        _streams.watch(call, Forwarding(iterator), None, [])
        for iterator in (iter([1]), numbers(), iter([2]))
    ]
    assert [type(w) for w in watches] == [_streams.Watch, _streams.AsyncWatch, _streams.Watch]
