"""Rows encoded column by column are stored and written exactly as encoding each row alone.

The flusher turns a batch's rows into text a column at a time (``_row_text``) and SQLite
inserts them in one statement; these tests hold that path to the per-row rules: the JSON a
store keeps, the facet and join columns, ``table_facets`` after many batches (also when
several processes append to one table), and the table files.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tracklm
from tracklm._run_manager.records import AppendRows
from tracklm.stores import _row_text, _table_files
from tracklm.stores._row_text import strict_json
from tracklm.stores._sql_store import SQLStore, row_columns
from tracklm.stores.base import FACET_COLUMNS, Store
from tracklm.stores.sqlite import SQLiteStore

from ..run_manager._subprocess import env_for, start
from .test_contract import new_run, write

ODD_VALUES: list[Any] = [
    None, True, False, 0, -5, 2**70, 1.5, math.nan, math.inf, -math.inf, 1e300, "", "a,b",
    'say "hi"', "line\nbreak", "cr\r", "é ü", "\ud800 lone", "%s %d", "nul\x00", "gpt-4o",
    [1, "a", math.nan], {"k": [1.5, None], "é": "x"},
]  # fmt: skip
KEYS = ["prompt", "model", "status", "operation", "inputs", "%key", "é", "a b"]


def random_rows(rnd: random.Random) -> list[dict[str, Any]]:
    """Rows as a batch may hold them: one shape with columns of one type, or shapes mixed."""
    n = rnd.randrange(0, 8)
    if rnd.random() < 0.5:
        keys = rnd.sample(KEYS, rnd.randrange(0, 5))
        kinds = {k: rnd.choice([[v] for v in ODD_VALUES] + [ODD_VALUES]) for k in keys}
        return [{k: rnd.choice(kinds[k]) for k in keys} for _ in range(n)]
    return [
        {k: rnd.choice(ODD_VALUES) for k in rnd.sample(KEYS, rnd.randrange(0, 5))} for _ in range(n)
    ]


def csv_per_row(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    cells = (
        _table_files._csv_line([_table_files._csv_cell(r.get(c)) for c in columns]) for r in rows
    )
    return "".join(cells).encode(errors="backslashreplace")


@pytest.mark.parametrize("run_rows", [_row_text.RUN_ROWS, 3])
def test_text_by_column_is_the_text_of_each_row_alone(
    run_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_row_text, "RUN_ROWS", run_rows)  # 3: runs cut into pieces too
    rnd = random.Random(7)
    for _ in range(3_000):
        rows = random_rows(rnd)
        columns = list(dict.fromkeys(k for row in rows for k in row))
        columns += rnd.choice([[], ["absent"]])  # a column of the table none of these rows has
        assert _row_text.json_objects(rows) == [json.dumps(row) for row in rows]
        assert _table_files._csv(columns, rows, header=False) == csv_per_row(columns, rows)
        assert _table_files._json_rows(columns, rows) == ",".join(
            json.dumps([strict_json(row.get(c)) for c in columns], ensure_ascii=False)
            for row in rows
        ).encode(errors="backslashreplace")
        assert _table_files._jsonl(rows) == b"".join(
            json.dumps(strict_json(row), ensure_ascii=False).encode(errors="backslashreplace")
            + b"\n"
            for row in rows
        )


def test_one_column_tables_keep_empty_cells_as_quoted_empty_text() -> None:
    rows = [{"a": ""}, {"a": "x"}, {"b": 1}]
    assert _table_files._csv(["a"], rows, header=False) == b'""\nx\n""\n'
    assert _table_files._csv([], [{}, {}], header=False) == b"\n\n"


def stored(store: SQLStore, run_id: str, name: str) -> list[tuple[Any, ...]]:
    found = store._table_id(run_id, name)
    assert found is not None
    return store._read(
        'SELECT "row", status, model, operation, input_key FROM table_rows '
        "WHERE row_key >= ? AND row_key < ? ORDER BY row_key",
        (found[0] << 32, (found[0] + 1) << 32),
    )


def test_many_batches_store_each_row_and_count_facets_exactly(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite inserts a batch's rows in statements of bounded size: make them a few rows each
    monkeypatch.setattr(SQLiteStore, "ROWS_STATEMENT_BYTES", 300)
    monkeypatch.setattr(SQLiteStore, "ROWS_PER_STATEMENT", 4)
    monkeypatch.setattr(_row_text, "RUN_ROWS", 3)
    rnd = random.Random(3)
    write(store, *new_run("r1"))
    logged: list[dict[str, Any]] = []
    for b in range(40):
        batch = []
        for _ in range(rnd.randrange(1, 4)):
            rows = random_rows(rnd)
            for i, row in enumerate(rows):
                if rnd.random() < 0.7:  # most rows carry the columns a browser counts
                    row["status"] = rnd.choice(["ok", "error", "ok"])
                    row["model"] = rnd.choice(["gpt-4o", "gpt-4o-mini", "é-model"])
                    row["inputs"] = f"question {(b + i) % 5}"
            batch.append(AppendRows("r1", "t.jsonl", rows))
            logged.extend(rows)
        write(store, *batch)

    kept = stored(store, "r1", "t.jsonl")
    assert [text for text, *_ in kept] == [json.dumps(row) for row in logged]
    assert [tuple(cells) for _, *cells in kept] == [row_columns(row) for row in logged]
    counts = {
        facet: Counter(v for row in logged if (v := row_columns(row)[i]) is not None)
        for i, facet in enumerate(FACET_COLUMNS)
    }
    expected = {
        facet: sorted(found.items(), key=lambda item: (-item[1], item[0]))
        for facet, found in counts.items()
        if found
    }
    facets = store.table_facets("r1", "t.jsonl", limit=1_000)
    assert facets == expected
    assert facets == Store.table_facets(store, "r1", "t.jsonl", limit=1_000)


WRITER = """
import tracklm
client = tracklm.TracklmClient()
for i in range(300):
    status = "error" if i % 7 == 0 else "ok"
    client.log_table("{run_id}", {{"writer": [{n}], "i": [i], "status": [status],
                                  "model": ["m{n}"], "prompt": ["text, with " + str(i)]}},
                     "shared.csv")
    if i % 50 == 0:
        tracklm.flush()
print(tracklm.flush())
"""


def test_processes_appending_to_one_table_keep_its_counts_exact(
    store_dir: Path, tmp_path: Path
) -> None:
    with tracklm.start_run() as run:
        run_id = run.info.run_id
        tracklm.log_table({"writer": [-1], "i": [-1], "status": ["ok"]}, "shared.csv")
    tracklm.flush()
    env = env_for(store_dir, tmp_path / "journal")
    env["TRACKLM_TRACKING_URI"] = tracklm.get_tracking_uri()  # SQLite, or the test's PostgreSQL
    procs = [start(WRITER.format(run_id=run_id, n=n), env) for n in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "dropped=0" in out, out + err

    table = tracklm.load_table("shared.csv", run_ids=[run_id])
    assert len(table) == 1 + 3 * 300
    assert sorted(table.groupby("writer").size()) == [1, 300, 300, 300]
    file = pd.read_csv(
        Path(tracklm.get_run(run_id).info.artifact_uri.removeprefix("file://")) / "shared.csv"
    )
    assert len(file) == len(table)
    store = tracklm.TracklmClient()._store
    assert isinstance(store, SQLStore)
    facets = store.table_facets(run_id, "shared.csv")
    assert dict(facets["status"]) == {"ok": 1 + 3 * (300 - 43), "error": 3 * 43}
    assert dict(facets["model"]) == {"m0": 300, "m1": 300, "m2": 300}
    assert facets == Store.table_facets(store, run_id, "shared.csv")
