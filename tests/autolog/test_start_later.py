"""Targets whose start runs when the call finishes (``Target.start_later``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import tracklm

from . import fake_sdk
from .fake_integration import LaterIntegration


@pytest.fixture
def client(installed: Callable[..., None]) -> fake_sdk.Client:
    installed(LaterIntegration())
    LaterIntegration.started.clear()
    assert tracklm.autolog() == ["fake"]
    return fake_sdk.Client()


def _rows(run_id: str) -> list[dict[str, object]]:
    assert tracklm.flush(timeout=30).ok
    frame = tracklm.load_table("predictions.csv", run_ids=[run_id])
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def test_the_start_runs_when_a_stream_ends_not_before_its_first_chunk(
    client: fake_sdk.Client,
) -> None:
    with tracklm.start_run() as run:
        stream = client.generate("one two", model="m1", stream=True)
        first = next(stream)
        assert LaterIntegration.started == []
        rest = list(stream)
        assert LaterIntegration.started == ["one two"]

    (row,) = _rows(run.info.run_id)
    assert (row["inputs"], row["outputs"]) == ("one two", " ".join([first, *rest]))
    assert (row["model"], row["stream"], row["step"]) == ("m1", True, 1)
    assert row["ttft_ms"] is not None


def test_a_call_the_later_start_rejects_is_not_recorded_and_its_result_is_the_sdks(
    client: fake_sdk.Client,
) -> None:
    with tracklm.start_run() as run:
        reply = client.generate("hi", model="other")
        stream = client.generate("hi", model="other", stream=True)
        words = list(stream)
        client.generate("kept", model="m1")

    assert reply == fake_sdk.Reply("echo: hi", 2)
    assert words == ["echo:", "hi"]
    assert LaterIntegration.started == ["hi", "hi", "kept"]
    assert [(r["inputs"], r["step"]) for r in _rows(run.info.run_id)] == [("kept", 1)]


def test_steps_count_the_calls_in_the_order_they_finish(client: fake_sdk.Client) -> None:
    with tracklm.start_run() as run:
        stream = client.generate("streamed", model="m1", stream=True)
        client.generate("returned", model="m1")
        list(stream)

    rows = _rows(run.info.run_id)
    assert [(r["inputs"], r["step"]) for r in rows] == [("returned", 1), ("streamed", 2)]
    assert rows[1]["timestamp"] < rows[0]["timestamp"]  # the stream started first


def test_a_call_records_into_the_run_active_when_it_was_made(client: fake_sdk.Client) -> None:
    with tracklm.start_run() as outer:
        with tracklm.start_run(nested=True) as inner:
            stream = client.generate("inner", model="m1", stream=True)
        list(stream)  # finished after its run's block

    assert [r["inputs"] for r in _rows(inner.info.run_id)] == ["inner"]
    with pytest.raises(tracklm.TableNotFound):
        tracklm.load_table("predictions.csv", run_ids=[outer.info.run_id])
