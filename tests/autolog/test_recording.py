"""What autolog records for a call, through an integration written on the public API."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable

import pytest

import tracklm

from . import fake_sdk


@pytest.fixture
def client(installed: Callable[..., None]) -> fake_sdk.Client:
    assert tracklm.autolog() == ["fake"]
    return fake_sdk.Client(api_key="sk-do-not-store")


def _rows(run_id: str) -> list[dict[str, object]]:
    assert tracklm.flush(timeout=30).ok
    frame = tracklm.load_table("predictions.csv", run_ids=[run_id])
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def test_a_call_becomes_a_row_params_and_metrics(client: fake_sdk.Client) -> None:
    with tracklm.start_run() as run:
        reply = client.generate("hello world", model="m1", temperature=0.5)
    assert reply == fake_sdk.Reply("echo: hello world", 3)

    (row,) = _rows(run.info.run_id)
    assert row["integration"] == row["provider"] == "fake"
    assert (row["operation"], row["model"], row["response_model"]) == ("chat", "m1", "m1")
    assert row["inputs"] == "hello world"
    assert row["outputs"] == "echo: hello world"
    assert json.loads(str(row["params"])) == {"model": "m1", "temperature": 0.5}
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (1, 3, 4)
    assert (row["status"], row["error"], row["stream"], row["step"]) == ("ok", None, False, 1)
    assert row["finish_reason"] == "stop"
    assert row["ttft_ms"] is None
    assert float(row["latency_ms"]) > 0  # type: ignore[arg-type]
    stored = tracklm.get_run(run.info.run_id)
    assert stored.data.params == {"model": "m1", "temperature": "0.5"}
    assert set(stored.data.metrics) == {
        "latency_ms",
        "input_tokens",
        "output_tokens",
        "total_tokens",
    }


def test_steps_count_the_calls_of_a_run_and_the_first_param_value_wins(
    client: fake_sdk.Client,
) -> None:
    with tracklm.start_run() as run:
        for temperature in (0.1, 0.9, 0.1):
            client.generate("hi", model="m1", temperature=temperature)
    rows = _rows(run.info.run_id)
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert [json.loads(str(r["params"]))["temperature"] for r in rows] == [0.1, 0.9, 0.1]
    assert tracklm.get_run(run.info.run_id).data.params["temperature"] == "0.1"
    history = tracklm.TracklmClient().get_metric_history(run.info.run_id, "output_tokens")
    assert [m.step for m in history] == [1, 2, 3]


def test_an_sdk_exception_is_reraised_as_the_same_object_and_recorded(
    client: fake_sdk.Client,
) -> None:
    with tracklm.start_run() as run, pytest.raises(fake_sdk.SDKError) as raised:
        client.generate("hi", model="missing")
    (row,) = _rows(run.info.run_id)
    assert row["status"] == "error"
    assert row["error"] == f"SDKError: {raised.value}"
    assert row["outputs"] is None


def test_async_calls_are_recorded(client: fake_sdk.Client) -> None:
    async def main() -> None:
        await client.agenerate("async hi", model="m2")
        stream = await client.agenerate("async stream", model="m2", stream=True)
        assert [w async for w in stream] == ["echo:", "async", "stream"]

    with tracklm.start_run() as run:
        asyncio.run(main())
    rows = _rows(run.info.run_id)
    assert [(r["outputs"], r["stream"]) for r in rows] == [
        ("echo: async hi", False),
        ("echo: async stream", True),
    ]
    assert rows[1]["ttft_ms"] is not None


def test_calls_without_an_active_run_go_to_one_autolog_run(client: fake_sdk.Client) -> None:
    client.generate("first", model="m1")
    client.generate("second", model="m1")
    runs = tracklm.search_runs()
    assert len(runs) == 1
    assert runs["tags.tracklm.autolog"][0] == "true"
    assert str(runs["run_name"][0]).startswith("autolog-")
    assert [r["inputs"] for r in _rows(runs["run_id"][0])] == ["first", "second"]


def test_inputs_and_outputs_can_be_left_out(installed: Callable[..., None]) -> None:
    tracklm.autolog(log_inputs=False, log_outputs=False)
    with tracklm.start_run() as run:
        fake_sdk.Client().generate("secret prompt", model="m1")
    (row,) = _rows(run.info.run_id)
    assert (row["inputs"], row["outputs"], row["output_tokens"]) == (None, None, 3)


def test_redact_changes_the_record_or_drops_it(installed: Callable[..., None]) -> None:
    def redact(record: tracklm.CallRecord) -> tracklm.CallRecord | None:
        if "drop" in str(record.inputs):
            return None
        record.inputs = str(record.inputs).replace("4111-1111", "[card]")
        record.outputs = str(record.outputs).replace("4111-1111", "[card]")
        return record

    tracklm.autolog(redact=redact)
    with tracklm.start_run() as run:
        fake_sdk.Client().generate("card 4111-1111", model="m1")
        fake_sdk.Client().generate("drop me", model="m1")
    (row,) = _rows(run.info.run_id)
    assert (row["inputs"], row["outputs"]) == ("card [card]", "echo: card [card]")


def test_long_texts_are_cut_and_the_row_says_so(installed: Callable[..., None]) -> None:
    tracklm.autolog(max_text_chars=20)
    with tracklm.start_run() as run:
        fake_sdk.Client().generate("x" * 50, model="m1")
        fake_sdk.Client().generate("short", model="m1")
    long, short = _rows(run.info.run_id)
    assert long["inputs"] == "x" * 20
    assert long["truncated"] == "inputs,outputs"
    assert (short["inputs"], short["truncated"]) == ("short", None)


def test_bad_options_are_refused_with_a_message(installed: Callable[..., None]) -> None:
    with pytest.raises(tracklm.InvalidValue, match="tracklm-openai"):
        tracklm.autolog(include=["nope"])
    with pytest.raises(tracklm.InvalidValue, match="max_text_chars"):
        tracklm.autolog(max_text_chars=0)
    with pytest.raises(tracklm.InvalidValue, match="redact"):
        tracklm.autolog(redact="not callable")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "wall_ns",
    [0, 1_764_333_296_000_000_000, 1_764_333_296_123_456_789, 1_764_333_297_999_999_999],
)
def test_a_rows_timestamp_is_its_start_in_utc_to_the_microsecond(wall_ns: int) -> None:
    from tracklm.autolog._calls import iso_utc

    start = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    expected = start + dt.timedelta(microseconds=wall_ns // 1000)
    text = iso_utc(wall_ns)
    assert dt.datetime.fromisoformat(text) == expected
    assert len(text) == len("2026-11-28T12:34:56.123456+00:00")
    assert iso_utc(wall_ns + 1_000_000_000) != text  # the next second is not the one remembered
