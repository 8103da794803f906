"""log_table / load_table, and the CSV, JSON and JSONL files kept beside the stored rows."""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tracklm

from ._pandas import EXACT_FLOATS


def client() -> tracklm.TracklmClient:
    return tracklm.TracklmClient(tracklm.get_tracking_uri())


def table_path(run: tracklm.ActiveRun, artifact_file: str) -> Path:
    tracklm.flush()
    return client().artifact_dir(run.info.run_id) / artifact_file


def test_dict_of_columns_is_logged_as_rows() -> None:
    with tracklm.start_run() as run:
        tracklm.log_table({"prompt": ["hi", "bye"], "tokens": [3, 4]}, "predictions.csv")
    frame = tracklm.load_table("predictions.csv")
    assert frame.to_dict("records") == [
        {"prompt": "hi", "tokens": 3},
        {"prompt": "bye", "tokens": 4},
    ]
    assert list(frame.columns) == ["prompt", "tokens"]
    on_disk = pd.read_csv(table_path(run, "predictions.csv"))
    pd.testing.assert_frame_equal(on_disk, frame)


def test_dict_of_scalars_is_one_row() -> None:
    with tracklm.start_run():
        tracklm.log_table({"prompt": "hi", "latency_ms": 12.5, "ok": True}, "t.csv")
    assert tracklm.load_table("t.csv").to_dict("records") == [
        {"prompt": "hi", "latency_ms": 12.5, "ok": True}
    ]


def test_text_with_a_lone_surrogate_loads_back_as_logged() -> None:
    """(pandas 3 with pyarrow installed keeps text in pyarrow, which refuses lone surrogates.)"""
    with tracklm.start_run():
        tracklm.log_table({"prompt": ["bad \udcff byte", "fine"], "n": [1, 2]}, "t.csv")
    frame = tracklm.load_table("t.csv")
    assert frame.to_dict("records") == [
        {"prompt": "bad \udcff byte", "n": 1},
        {"prompt": "fine", "n": 2},
    ]
    assert frame["n"].dtype == np.int64


def test_dataframe_with_odd_dtypes_reads_back_as_json_values() -> None:
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    df = pd.DataFrame(
        {
            "when": pd.to_datetime([when, None], utc=True),
            "naive": pd.to_datetime(["2024-05-01 08:00", "2024-05-02 00:00"]),
            "n": np.array([1, 2], dtype="int64"),
            "small": np.array([7, 8], dtype="int8"),
            "x": [1.5, np.nan],
            "flag": [True, False],
            "obj": ["a", None],
            "nested": [[1, {"k": "v"}], {"a": [1, 2]}],
            "nullable": pd.array([1, None], dtype="Int64"),
        }
    )
    with tracklm.start_run():
        tracklm.log_table(df, "odd.json")
    back = tracklm.load_table("odd.json")
    rows = back.to_dict("records")
    assert rows[0]["when"] == "2024-05-01T12:30:00+00:00"
    assert pd.isna(rows[1]["when"])  # NaT is stored as null
    assert rows[0]["naive"] == "2024-05-01T08:00:00"
    assert [r["n"] for r in rows] == [1, 2]
    assert back["n"].dtype == "int64"
    assert [r["small"] for r in rows] == [7, 8]
    assert rows[0]["x"] == 1.5
    assert math.isnan(rows[1]["x"])
    assert [r["flag"] for r in rows] == [True, False]
    assert back["flag"].dtype == bool
    assert rows[0]["obj"] == "a"
    assert pd.isna(rows[1]["obj"])
    assert [r["nested"] for r in rows] == [[1, {"k": "v"}], {"a": [1, 2]}]
    assert rows[0]["nullable"] == 1
    assert math.isnan(rows[1]["nullable"])


def test_appends_accumulate_rows_in_order() -> None:
    with tracklm.start_run() as run:
        for i in range(3):
            tracklm.log_table({"i": [i], "sq": [i * i]}, "t.csv")
            tracklm.flush()
        tracklm.log_table({"i": [3, 4], "sq": [9, 16]}, "t.csv")
    assert tracklm.load_table("t.csv")["i"].tolist() == [0, 1, 2, 3, 4]
    on_disk = pd.read_csv(table_path(run, "t.csv"))
    assert on_disk["sq"].tolist() == [0, 1, 4, 9, 16]


def test_a_new_column_keeps_old_rows_with_empty_cells() -> None:
    with tracklm.start_run() as run:
        tracklm.log_table({"a": [1, 2]}, "t.csv")
        tracklm.flush()
        tracklm.log_table({"b": ["x"], "a": [3]}, "t.csv")
        tracklm.flush()
        tracklm.log_table({"a": [4]}, "t.csv")
    loaded = tracklm.load_table("t.csv")
    assert list(loaded.columns) == ["a", "b"]
    assert loaded["a"].tolist() == [1, 2, 3, 4]
    assert loaded["b"].tolist()[2] == "x"
    assert [pd.isna(v) for v in loaded["b"]] == [True, True, False, True]
    text = table_path(run, "t.csv").read_text()
    assert text == "a,b\n1,\n2,\n3,x\n4,\n"
    on_disk = pd.read_csv(table_path(run, "t.csv"), dtype=str, keep_default_na=False)
    assert on_disk.to_dict("list") == {"a": ["1", "2", "3", "4"], "b": ["", "", "x", ""]}


def test_an_empty_first_append_then_rows_writes_the_header() -> None:
    with tracklm.start_run() as run:
        tracklm.log_table({"a": []}, "t.csv")
        tracklm.log_table({"a": []}, "t.json")
        tracklm.flush()
        tracklm.log_table({"a": [1]}, "t.csv")
        tracklm.log_table({"a": [1]}, "t.json")
    assert table_path(run, "t.csv").read_text() == "a\n1\n"
    assert pd.read_json(table_path(run, "t.json"), orient="split")["a"].tolist() == [1]


def test_json_table_is_readable_by_pandas_after_appends_and_a_column_change() -> None:
    with tracklm.start_run() as run:
        tracklm.log_table({"a": [1, 2], "s": ["x", "y"]}, "t.json")
        tracklm.flush()
        tracklm.log_table({"a": [3], "s": ["z"]}, "t.json")
        tracklm.flush()
        tracklm.log_table({"a": [4], "c": [0.5]}, "t.json")
        tracklm.flush()
        tracklm.log_table({"a": [5], "s": ["w"], "c": [math.nan]}, "t.json")
    path = table_path(run, "t.json")
    on_disk = pd.read_json(path, orient="split")
    assert list(on_disk.columns) == ["a", "s", "c"]
    assert on_disk["a"].tolist() == [1, 2, 3, 4, 5]
    assert on_disk["s"].tolist()[:3] == ["x", "y", "z"]
    assert on_disk["s"].tolist()[4] == "w"
    assert on_disk["c"].tolist()[3] == 0.5
    raw = json.loads(path.read_text())  # strict JSON: NaN is written as null
    assert raw["data"][4] == [5, "w", None]
    assert raw["data"][0] == [1, "x", None]


def test_jsonl_table_is_one_object_a_line() -> None:
    with tracklm.start_run() as run:
        tracklm.log_table({"a": [1, 2]}, "t.jsonl")
        tracklm.flush()
        tracklm.log_table({"a": [3], "b": ["é"]}, "t.jsonl")
    path = table_path(run, "t.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"a": 1}, {"a": 2}, {"a": 3, "b": "é"}]
    assert pd.read_json(path, lines=True)["a"].tolist() == [1, 2, 3]
    assert tracklm.load_table("t.jsonl")["a"].tolist() == [1, 2, 3]


def test_load_table_reads_every_run_of_the_experiment_or_the_given_runs() -> None:
    tracklm.set_experiment("tables")
    ids = []
    for i in range(3):
        with tracklm.start_run() as run:
            tracklm.log_table({"i": [i, i]}, "t.csv")
        ids.append(run.info.run_id)
    with tracklm.start_run():
        tracklm.log_table({"i": [99]}, "other.csv")  # no t.csv: skipped
    every = tracklm.load_table("t.csv", extra_columns=["run_id"])
    assert sorted(every["i"].tolist()) == [0, 0, 1, 1, 2, 2]
    assert {i: every[every.run_id == r]["i"].tolist() for i, r in enumerate(ids)} == {
        0: [0, 0],
        1: [1, 1],
        2: [2, 2],
    }
    chosen = tracklm.load_table("t.csv", run_ids=[ids[2], ids[0]], extra_columns=["run_id"])
    assert chosen.to_dict("list") == {"i": [2, 2, 0, 0], "run_id": [ids[2]] * 2 + [ids[0]] * 2}
    assert "run_id" not in tracklm.load_table("t.csv").columns
    tracklm.set_experiment("Default")
    with pytest.raises(tracklm.TableNotFound, match=r"'t\.csv'"):
        tracklm.load_table("t.csv")  # the current experiment has no such table
    assert tracklm.load_table("t.csv", run_ids=[ids[1]])["i"].tolist() == [1, 1]


def test_load_table_of_runs_whose_columns_are_empty_in_some_warns_nothing() -> None:
    # a run of non-stream calls has no ttft_ms: pandas 2 warns when it concatenates a frame
    # with an all-empty column, so the runs' rows make one frame
    ids = []
    for ttft in ([None, None], [1.5, None]):
        with tracklm.start_run() as run:
            tracklm.log_table({"ttft_ms": ttft, "n": [1, 2]}, "t.csv")
        ids.append(run.info.run_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = tracklm.load_table("t.csv", run_ids=ids, extra_columns=["run_id"])
    assert loaded["n"].tolist() == [1, 2, 1, 2]
    assert loaded["ttft_ms"].tolist()[2] == 1.5
    assert loaded["ttft_ms"].isna().tolist() == [True, True, False, True]
    assert list(loaded.columns) == ["ttft_ms", "n", "run_id"]
    assert loaded["run_id"].tolist() == [ids[0]] * 2 + [ids[1]] * 2


def test_load_table_of_an_unknown_table_raises_table_not_found() -> None:
    with tracklm.start_run() as run:
        tracklm.log_table({"a": [1]}, "t.csv")
    with pytest.raises(tracklm.TableNotFound, match=r"'t\.json'"):
        tracklm.load_table("t.json", run_ids=[run.info.run_id])
    with pytest.raises(tracklm.InvalidValue, match="run_id"):
        tracklm.load_table("t.csv", extra_columns=["status"])


@pytest.mark.parametrize("name", ["t.txt", "t", "t.csv.bak", "t.parquet"])
def test_table_name_without_a_table_suffix_raises_invalid_artifact_path(name: str) -> None:
    with tracklm.start_run(), pytest.raises(tracklm.InvalidArtifactPath, match=r"\.csv"):
        tracklm.log_table({"a": [1]}, name)


def test_columns_of_different_lengths_raise_invalid_value() -> None:
    with tracklm.start_run(), pytest.raises(tracklm.InvalidValue, match="different lengths"):
        tracklm.log_table({"a": [1, 2], "b": [1]}, "t.csv")


def test_lists_mixed_with_single_values_raise_invalid_value() -> None:
    with tracklm.start_run(), pytest.raises(tracklm.InvalidValue, match="mix of lists"):
        tracklm.log_table({"a": [1, 2], "b": 3}, "t.csv")


def test_not_a_table_raises_invalid_value() -> None:
    with tracklm.start_run(), pytest.raises(tracklm.InvalidValue, match="list"):
        tracklm.log_table([1, 2], "t.csv")


def test_changes_made_by_the_caller_after_log_table_are_not_logged() -> None:
    cell = {"k": [1]}
    column = [cell, "b"]
    data = {"c": column}
    df = pd.DataFrame({"x": [1, 2], "o": [[1], [2]]})
    with tracklm.start_run():
        tracklm.log_table(data, "d.csv")
        tracklm.log_table(df, "f.csv")
        column[1] = "changed"
        column.append("extra")
        cell["k"].append(2)
        data["new"] = [1, 2, 3]
        df.loc[0, "x"] = 100
        df.loc[1, "o"].append(3)
    assert tracklm.load_table("d.csv").to_dict("list") == {"c": [{"k": [1]}, "b"]}
    assert tracklm.load_table("f.csv").to_dict("list") == {"x": [1, 2], "o": [[1], [2]]}


def test_rows_logged_one_at_a_time_under_known_columns_keep_every_rule() -> None:
    """The usual call, one row of one-element lists under columns seen before, takes a
    shorter path: it must refuse, copy and store exactly what the general one does."""
    nested = [1]
    with tracklm.start_run():
        for i in range(3):
            tracklm.log_table({"prompt": [f"p{i}"], "n": [i], "x": [None]}, "t.csv")
        tracklm.log_table({"prompt": ["deep"], "n": [nested], "x": [0.5]}, "t.csv")
        nested.append(2)
        with pytest.raises(tracklm.InvalidValue, match="different lengths"):
            tracklm.log_table({"prompt": ["a"], "n": [1, 2]}, "t.csv")
        with pytest.raises(tracklm.InvalidValue, match="mix of lists"):
            tracklm.log_table({"prompt": ["a"], "n": 1}, "t.csv")
        with pytest.raises(tracklm.InvalidKey):
            tracklm.log_table({"prompt": ["a"], "bad key!": [1]}, "t.csv")
        tracklm.log_table({"prompt": ("tuple",), "n": [np.int64(7)], "x": [True]}, "t.csv")
    frame = tracklm.load_table("t.csv")
    assert frame["prompt"].tolist() == ["p0", "p1", "p2", "deep", "tuple"]
    assert frame["n"].tolist() == [0, 1, 2, [1], 7]
    assert frame["x"].tolist()[3:] == [0.5, True]


def test_appends_write_only_the_new_rows_and_a_file_changed_behind_the_store_is_rebuilt() -> None:
    """The CSV grows in place (same inode); a file truncated by someone else is rewritten whole
    at the next append, since the store records the size it wrote."""
    with tracklm.start_run() as run:
        tracklm.log_table({"i": [0], "text": ["row 0"]}, "big.csv")
        path = table_path(run, "big.csv")
        inode = path.stat().st_ino
        for i in range(1, 200):
            tracklm.log_table({"i": i, "text": f"row {i}"}, "big.csv")
            if i % 20 == 0:
                tracklm.flush()
                assert path.stat().st_ino == inode
        tracklm.flush()
        lines = path.read_text().splitlines()
        assert len(lines) == 201
        assert (lines[0], lines[1], lines[-1]) == ("i,text", "0,row 0", "199,row 199")
        assert path.stat().st_ino == inode
        with path.open("r+b") as f:
            f.truncate(100)
        tracklm.log_table({"i": [200], "text": ["row 200"]}, "big.csv")
        tracklm.flush()
    on_disk = pd.read_csv(path)
    assert len(path.read_text().splitlines()) == 202
    assert on_disk["i"].tolist() == list(range(201))
    assert on_disk["text"].tolist() == [f"row {i}" for i in range(201)]


TRICKY = [
    "-1",
    "=SUM(A1:A2)",
    "+cmd",
    "@x",
    "a,b",
    "line1\nline2",
    'say "hi"',
    "cr\r\nlf",
    " padded ",
    "",
    "NaN",
    "null",
    "None",
    "é中文🙂",
    "'quoted'",
    "tab\there",
    "\\back",
]


def test_csv_cells_read_back_identical_with_pandas() -> None:
    with tracklm.start_run() as run:
        tracklm.log_table({"cell": TRICKY, "n": list(range(len(TRICKY)))}, "tricky.csv")
        tracklm.flush()
        tracklm.log_table({"cell": list(reversed(TRICKY))}, "tricky.csv")
    path = table_path(run, "tricky.csv")
    on_disk = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert on_disk["cell"].tolist() == TRICKY + list(reversed(TRICKY))
    assert tracklm.load_table("tricky.csv")["cell"].tolist() == TRICKY + list(reversed(TRICKY))


def test_float_cells_in_csv_keep_full_precision_and_nan_and_inf() -> None:
    values = [0.1 + 0.2, 1e-300, 1e16, -0.0, math.inf, -math.inf, math.nan]
    with tracklm.start_run() as run:
        tracklm.log_table({"v": values}, "f.csv")
    on_disk = pd.read_csv(table_path(run, "f.csv"), **EXACT_FLOATS)["v"].tolist()
    assert on_disk[:6] == values[:6]
    assert math.isnan(on_disk[6])
