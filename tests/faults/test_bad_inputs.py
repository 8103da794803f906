"""Bad input through the public API: keys and values of every type and size, odd DataFrames,
huge tables, arguments the SDK cannot send. Each is refused with a TracklmError (misuse of
tracklm's own API) or recorded faithfully, the SDK call behaves as without tracklm, and the
store stays whole. (Valid keys and text round-trips: tests/test_properties.py.)"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import fractions
import math
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracklm
from tracklm._run_manager.records import json_value
from tracklm.testing import LLMServer

from ..test_properties import keys
from ._app import assert_store_whole, client, rows, user, with_and_without_tracklm

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Opaque:
    """An object of the user's: no JSON form, a repr with its address."""


class BrokenStr:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


TEXT = st.text(
    st.characters(codec=None, categories=None) | st.sampled_from('\x00\r\n\t",=-+@'),
    max_size=40,
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | TEXT
    | st.binary(max_size=20)
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.dates()
    | st.decimals()
    | st.fractions()
    | st.complex_numbers()
    | st.uuids()
    | st.builds(Opaque)
    | st.builds(BrokenStr)
    | st.sampled_from([np.int64(7), np.float32(0.5), np.nan, pd.NaT, pd.NA, np.bool_(True)])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
ANY_KEY = keys() | TEXT | st.integers() | st.none() | st.binary(max_size=5) | st.builds(Opaque)


def same(got: Any, want: Any) -> bool:
    """Equal, NaN equal to NaN, recursively."""
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same, got, want))
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(same(got[k], want[k]) for k in want)
        )
    return bool(got == want) and type(got) is type(want)


def refusal(call: Callable[[], Any]) -> str | None:
    """The message of the TracklmError ``call`` raises, or None when it logs."""
    try:
        call()
    except tracklm.TracklmError as exc:
        return str(exc)
    return None


def new_run() -> tuple[tracklm.TracklmClient, str]:
    client = tracklm.TracklmClient()
    return client, client.create_run(client.experiment_id_by_name("bad-inputs")).info.run_id


@SETTINGS
@given(key=ANY_KEY, value=VALUES)
def test_any_key_and_value_is_refused_with_a_tracklm_error_or_stored_as_logged(
    key: Any, value: Any
) -> None:
    client, run_id = new_run()
    stored: dict[str, Any] = {}
    for kind, log in (
        ("param", client.log_param),
        ("tag", client.set_tag),
        ("metric", client.log_metric),
    ):
        message = refusal(lambda log=log: log(run_id, key, value))
        if message is None:
            stored[kind] = value
        else:
            assert message  # one that says what was wrong
    data = client.get_run(run_id).data
    for kind, field in (("param", data.params), ("tag", data.tags)):
        if kind in stored:
            assert field == {key: str(value)}
        else:
            assert key not in field
    if "metric" in stored:
        assert same(data.metrics[key], float(value))
    assert client.flush().ok


@SETTINGS
@given(cells=st.lists(VALUES, min_size=1, max_size=4), suffix=st.sampled_from(["csv", "json"]))
def test_any_cell_is_refused_or_stored_as_its_json_form(cells: list[Any], suffix: str) -> None:
    client, run_id = new_run()
    name = f"cells.{suffix}"
    message = refusal(
        lambda: client.log_table(run_id, {"cell": cells, "n": list(range(len(cells)))}, name)
    )
    if message is not None:
        assert "could not turn a cell" in message
        return
    assert client.flush().ok
    stored = client._store.read_table(run_id, name)  # exactly what the store holds
    assert stored is not None
    assert same([r["cell"] for r in stored], [json_value(c) for c in cells])
    assert len(client.load_table(None, name, run_ids=[run_id])) == len(cells)


def test_dataframes_with_odd_dtypes_are_stored_as_text_numbers_and_nulls(store_dir: Path) -> None:
    paris = pd.to_datetime(["2024-03-31T01:30:00Z", None], utc=True).tz_convert("Europe/Paris")
    frame = pd.DataFrame(
        {
            "tz": paris,
            "category": pd.Categorical(["low", None], categories=["low", "high"]),
            "object": [Opaque(), "text"],
            "nested": [[1, [2, {"k": np.int64(3)}]], {"v": np.array([1.5, np.nan])}],
            "bytes": [b"\x00\xff raw", b""],
            "timedelta": pd.to_timedelta(["1.5s", None]),
            "period": pd.period_range("2024-01", periods=2, freq="M"),
            "interval": pd.interval_range(0, 2),
            "decimal": [decimal.Decimal("1.10"), decimal.Decimal("NaN")],
            "fraction": [fractions.Fraction(1, 3), None],
            "complex": [1 + 2j, None],
            "uuid": [uuid.UUID(int=1), None],
            "boolean": pd.array([True, None], dtype="boolean"),
            "uint64": np.array([2**64 - 1, 0], dtype="uint64"),
            "float32": np.array([0.5, np.inf], dtype="float32"),
            "sparse": pd.arrays.SparseArray([0, 3]),
            7: ["int-named column", "x"],
        }
    )
    with tracklm.start_run() as run:
        tracklm.log_table(frame, "odd.csv")
        tracklm.log_table(frame.iloc[:0], "odd.csv")  # no rows: nothing appended
    assert tracklm.flush().ok
    stored = tracklm.TracklmClient()._store.read_table(run.info.run_id, "odd.csv")
    assert stored is not None
    first, second = stored
    assert first["tz"] == "2024-03-31T03:30:00+02:00"  # its zone kept
    assert first["category"] == "low"
    assert math.isnan(second["category"])
    assert first["object"].startswith("<")
    assert second["object"] == "text"
    assert first["nested"] == [1, [2, {"k": 3}]]
    assert second["nested"]["v"][0] == 1.5
    assert math.isnan(second["nested"]["v"][1])
    assert (first["bytes"], second["bytes"]) == ("\x00\\xff raw", "")
    assert (first["timedelta"], second["timedelta"]) == ("0 days 00:00:01.500000", None)
    assert (first["period"], first["interval"]) == ("2024-01", "(0, 1]")
    assert (first["decimal"], second["decimal"]) == ("1.10", None)
    assert (first["fraction"], first["complex"]) == ("1/3", "(1+2j)")
    assert first["uuid"] == str(uuid.UUID(int=1))
    assert (first["boolean"], second["boolean"]) == (True, None)
    assert first["uint64"] == 2**64 - 1
    assert (first["float32"], second["float32"]) == (0.5, math.inf)
    assert (first["sparse"], second["sparse"], first["7"]) == (0, 3, "int-named column")
    assert_store_whole(store_dir)


def test_dataframes_tracklm_cannot_store_row_by_row_are_refused() -> None:
    with tracklm.start_run():
        with pytest.raises(tracklm.InvalidValue, match=r"columns named alike: \['a'\]"):
            tracklm.log_table(pd.DataFrame([[1, 2]], columns=["a", "a"]), "dup.csv")
        with pytest.raises(tracklm.InvalidValue, match=r"columns named alike: \['1'\]"):
            tracklm.log_table(pd.DataFrame([[1, 2]], columns=[1, "1"]), "dup.csv")
        columns = pd.MultiIndex.from_tuples([("a", "b"), ("a", "c")])
        with pytest.raises(tracklm.InvalidKey):
            tracklm.log_table(pd.DataFrame([[1, 2]], columns=columns), "multi.csv")
        with pytest.raises(tracklm.InvalidValue, match="RuntimeError"):
            tracklm.log_table({"cell": [BrokenStr()]}, "broken.csv")
        with pytest.raises(tracklm.InvalidValue, match="str"):
            tracklm.log_param("p", BrokenStr())
    assert tracklm.flush().ok


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tracklm.log_metric("m", 10**400), "too large"),
        (lambda: tracklm.log_metric("m", 1.0, step=2**63), "64 bits"),
        (lambda: tracklm.log_metric("m", 1.0, timestamp=1e30), "64 bits"),
        (lambda: tracklm.log_metrics({"m": 1.0}, step=-(2**63) - 1), "64 bits"),
    ],
    ids=["huge-value", "huge-step", "huge-timestamp", "huge-batch-step"],
)
def test_numbers_a_store_cannot_hold_are_refused_at_the_call(call: Any, message: str) -> None:
    """Not accepted and then dropped by the store's writer, later and silently."""
    with tracklm.start_run():
        with pytest.raises(tracklm.InvalidValue, match=message):
            call()
        tracklm.log_metric("m", 1.0, step=2**63 - 1, timestamp=2**62)
    assert tracklm.flush().ok


def test_a_huge_table_and_a_5_mb_cell_read_back_exactly(store_dir: Path) -> None:
    n = 50_000
    big = "".join(chr(0x20 + i % 0x5F) for i in range(5_000_000)) + '\n,"end'
    with tracklm.start_run() as run:
        tracklm.log_table(
            {"i": list(range(n)), "text": [f'row {i}, "q"' for i in range(n)]}, "t.csv"
        )
        tracklm.log_table({"i": [n], "text": [big]}, "t.csv")
    loaded = tracklm.load_table("t.csv")
    assert loaded["i"].tolist() == list(range(n + 1))
    assert loaded["text"].iloc[-1] == big
    path = tracklm.TracklmClient().artifact_dir(run.info.run_id) / "t.csv"
    on_disk = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert on_disk["text"].iloc[-1] == big
    assert on_disk["text"].iloc[123] == 'row 123, "q"'
    assert_store_whole(store_dir)


IMAGE = base64.b64encode(bytes(range(256)) * 4096).decode()  # a 1 MB "image"
SDK_ARGUMENTS = {
    "opaque-object-in-extra-body": {"extra_body": {"opaque": Opaque()}},
    "bytes-as-content": {"messages": [{"role": "user", "content": b"raw bytes"}]},
    "set-in-metadata": {"metadata": {"tags": {"a", "b"}}},
    "datetime-in-extra-body": {"extra_body": {"when": dt.datetime(2024, 1, 1)}},
    "nan-temperature": {"temperature": math.nan},
    "huge-seed": {"seed": 10**30},
    "int-keys-in-extra-body": {"extra_body": {1: "one", "nested": {2: [None, math.inf]}}},
    "nul-and-surrogate-text": {"messages": user("nul \x00 and \ud800 lone"), "user": "\x00"},
    "image-content-part": {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{IMAGE}"}},
                ],
            }
        ]
    },
}


@pytest.mark.parametrize("arguments", SDK_ARGUMENTS.values(), ids=SDK_ARGUMENTS.keys())
def test_sdk_arguments_it_cannot_send_or_json_cannot_write_behave_as_without_tracklm(
    arguments: dict[str, Any], store_dir: Path
) -> None:
    def call(server: LLMServer) -> Any:
        kwargs = {"model": "m", "messages": user("hi"), **arguments}
        return client(server).chat.completions.create(**kwargs)

    without, with_ = with_and_without_tracklm(call)

    assert (with_.value, with_.error, with_.requests) == (
        without.value,
        without.error,
        without.requests,
    )
    (row,) = rows()
    assert row["status"] == ("ok" if with_.error is None else "error")
    if with_.error is not None:
        assert row["error"].startswith(with_.error[0].__name__)
    if "image_url" in str(arguments):
        assert row["inputs"].startswith('[{"role":"user","content":[{"type":"text"')
        assert row["truncated"] == "inputs"
    assert_store_whole(store_dir)
