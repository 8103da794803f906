"""Property tests: whatever valid data goes in comes back out unchanged."""

from __future__ import annotations

import math
import string

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracklm
from tracklm import TracklmClient

# The autouse fixture gives each test function one store; the examples of a test share it,
# each in a run of its own.
SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

KEY_CHARS = st.one_of(
    st.characters(categories=["Lu", "Ll", "Lt", "Lm", "Lo", "Nd"]),
    st.sampled_from(string.ascii_letters + string.digits + "_-./:"),
)


@st.composite
def keys(draw: st.DrawFn) -> str:
    """Valid keys: 1-250 of letters (any script), digits, ``_ - . / :`` and inner spaces,
    not starting with '/' and without '//'."""
    body = draw(st.lists(st.one_of(KEY_CHARS, st.just(" ")), min_size=1, max_size=250))
    key = "".join(body)
    key = key.lstrip("/ ").rstrip(" ")
    while "//" in key:
        key = key.replace("//", "/")
    return key or draw(st.sampled_from(string.ascii_letters))


def new_run(client: TracklmClient) -> str:
    experiment_id = client.experiment_id_by_name("properties")
    return client.create_run(experiment_id).info.run_id


@SETTINGS
@given(key=keys(), value=st.text(max_size=50), number=st.floats())
def test_any_valid_key_round_trips_as_param_metric_and_tag_key(
    key: str, value: str, number: float
) -> None:
    client = TracklmClient(tracklm.get_tracking_uri())
    run_id = new_run(client)
    client.log_param(run_id, key, value)
    client.log_metric(run_id, key, number)
    client.set_tag(run_id, key, value)
    data = client.get_run(run_id).data
    assert data.params == {key: value}
    assert data.tags == {key: value}
    assert list(data.metrics) == [key]
    assert [m.key for m in client.get_metric_history(run_id, key)] == [key]


@SETTINGS
@given(value=st.text(max_size=6000))
def test_any_param_value_round_trips(value: str) -> None:
    """Any text up to the limit, NUL bytes and every plane of Unicode included."""
    client = TracklmClient(tracklm.get_tracking_uri())
    run_id = new_run(client)
    client.log_param(run_id, "p", value)
    client.set_tag(run_id, "t", value)
    data = client.get_run(run_id).data
    assert data.params["p"] == value
    assert data.tags["t"] == value


@SETTINGS
@given(values=st.lists(st.floats(), min_size=1, max_size=10))
def test_any_metric_float_round_trips_in_history_and_latest(values: list[float]) -> None:
    client = TracklmClient(tracklm.get_tracking_uri())
    run_id = new_run(client)
    for step, value in enumerate(values):
        client.log_metric(run_id, "m", value, step=step, timestamp=1_000 + step)
    history = client.get_metric_history(run_id, "m")
    assert [m.step for m in history] == list(range(len(values)))
    for got, want in zip([m.value for m in history], values, strict=True):
        assert same_float(got, want, signed_zero=False)  # SQLite stores -0.0 as 0
    assert same_float(client.get_run(run_id).data.metrics["m"], values[-1], signed_zero=False)


def same_float(got: float, want: float, signed_zero: bool = True) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    if signed_zero and got == want == 0:
        return math.copysign(1, got) == math.copysign(1, want)
    return got == want


CELLS = {
    "text": st.one_of(st.none(), st.text(max_size=30)),
    "int": st.one_of(st.none(), st.integers(min_value=-(2**53), max_value=2**53)),
    "float": st.floats(),
}


@st.composite
def tables(draw: st.DrawFn) -> dict[str, list[object]]:
    n_rows = draw(st.integers(min_value=1, max_value=8))
    names = draw(st.lists(keys(), min_size=1, max_size=5, unique=True))
    return {
        name: draw(
            st.lists(CELLS[draw(st.sampled_from(sorted(CELLS)))], min_size=n_rows, max_size=n_rows)
        )
        for name in names
    }


@SETTINGS
@given(data=tables(), suffix=st.sampled_from([".csv", ".json", ".jsonl"]))
def test_table_contents_round_trip_through_load_table(
    data: dict[str, list[object]], suffix: str
) -> None:
    client = TracklmClient(tracklm.get_tracking_uri())
    run_id = new_run(client)
    client.log_table(run_id, data, "t" + suffix)
    loaded = client.load_table(None, "t" + suffix, run_ids=[run_id])
    expected = pd.DataFrame.from_records(
        [{k: v[i] for k, v in data.items()} for i in range(len(next(iter(data.values()))))]
    )
    pd.testing.assert_frame_equal(loaded, expected)
    for name, column in data.items():  # exact values, not only equal frames
        for got, want in zip(loaded[name].tolist(), column, strict=True):
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert got is None or (isinstance(got, float) and math.isnan(got))
            elif isinstance(want, float):
                assert same_float(got, want)
            else:
                assert got == want
