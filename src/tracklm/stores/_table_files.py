"""The file forms of a logged table, written so that an append costs what it appends.

A table's rows live in the store; its artifact file is kept in step for readers outside
tracklm: ``.csv`` for ``pandas.read_csv`` and spreadsheets, ``.json`` in the
``{"columns": [...], "data": [[...]]}`` form MLflow's ``load_table`` reads, ``.jsonl`` one
object a line. New rows are appended; only a new column forces a rewrite (CSV and JSON carry
their columns up front). The store records the file's size after each write; a file of another
size (a crash between the file write and the commit) is rewritten from the store's rows.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tracklm._errors import InvalidArtifactPath
from tracklm._files import private_dirs
from tracklm.stores import _row_text
from tracklm.stores._row_text import strict_json

SUFFIXES = (".csv", ".json", ".jsonl")
_JSON_END = b"]}"


def check_table_file(artifact_file: str) -> str:
    """Refuse table names whose suffix names no format tracklm writes."""
    if not artifact_file.endswith(SUFFIXES):
        raise InvalidArtifactPath(
            f"Table {artifact_file!r} needs a suffix that names its format: one of "
            f"{', '.join(SUFFIXES)} (for example 'predictions.csv')."
        )
    return artifact_file


def _csv_cell(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _csv(columns: Sequence[str], rows: Sequence[dict[str, Any]], header: bool) -> bytes:
    # written by hand, the way the csv module's minimal quoting does, at a third of its cost
    head = _csv_line(columns) if header else ""
    body = _row_text.csv_lines(columns, rows, _csv_quoted_cell)
    if body is None:
        body = "".join(_csv_line([_csv_cell(row.get(c)) for c in columns]) for row in rows)
    return (head + body).encode(errors="backslashreplace")


def _csv_quoted_cell(value: Any) -> str:
    return _csv_quoted(_csv_cell(value))


def _csv_line(cells: Sequence[str]) -> str:
    if len(cells) == 1 and cells[0] == "":
        return '""\n'  # a blank line would be skipped by readers: say it is an empty cell
    return ",".join([_csv_quoted(cell) for cell in cells]) + "\n"


def _csv_quoted(cell: str) -> str:
    if '"' in cell or "," in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _json_rows(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> bytes:
    text = _row_text.json_arrays(columns, rows)
    if text is None:
        text = ",".join(
            json.dumps([strict_json(row.get(c)) for c in columns], ensure_ascii=False)
            for row in rows
        )
    return text.encode(errors="backslashreplace")


def _jsonl(rows: Sequence[dict[str, Any]]) -> bytes:
    text = "".join(line + "\n" for line in _row_text.json_objects(rows, strict=True))
    return text.encode(errors="backslashreplace")


def render(artifact_file: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> bytes:
    """The whole file for a table of ``rows``."""
    if artifact_file.endswith(".jsonl"):
        return _jsonl(rows)
    if artifact_file.endswith(".json"):
        head = b'{"columns": ' + json.dumps(list(columns), ensure_ascii=False).encode(
            errors="backslashreplace"
        )
        return head + b', "data": [' + _json_rows(columns, rows) + _JSON_END
    return _csv(columns, rows, header=True)


def write_rows(
    path: Path,
    artifact_file: str,
    *,
    columns: Sequence[str],
    columns_changed: bool,
    rows: Sequence[dict[str, Any]],
    rows_before: int,
    size_before: int,
    all_rows: Callable[[], list[dict[str, Any]]],
) -> int:
    """Bring the table file up to date with ``rows`` appended; return its new size.

    ``all_rows`` loads every row (old and new) for the rare full rewrite.
    """
    private_dirs(path.parent)
    jsonl = artifact_file.endswith(".jsonl")
    try:
        size_now = path.stat().st_size
    except FileNotFoundError:
        size_now = -1
    # a new column rewrites the header, even after appends that held no rows
    if size_now != size_before or (columns_changed and not jsonl):
        return _replace(path, render(artifact_file, columns, all_rows()))
    if size_before <= 0:
        return _replace(path, render(artifact_file, columns, rows))
    if jsonl:
        data, cut = _jsonl(rows), 0
    elif artifact_file.endswith(".json"):
        data = (b"," if rows_before else b"") + _json_rows(columns, rows) + _JSON_END
        cut = len(_JSON_END)
    else:
        data, cut = _csv(columns, rows, header=False), 0
    fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    try:
        os.lseek(fd, size_before - cut, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        size = size_before - cut + len(data)
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    return size


def _replace(path: Path, data: bytes) -> int:
    """Write a whole file atomically: readers see the old file or the new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:  # a full disk: leave no half-written file behind
        tmp.unlink(missing_ok=True)
        raise
    return len(data)
