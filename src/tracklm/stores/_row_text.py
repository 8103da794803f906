"""Table rows turned into text column by column, for the flusher's hot path.

The rows of a batch nearly always share their keys, so they are taken in runs of rows with
the same keys in the same order (:func:`runs`), and each column of a run is encoded at once:
the type of its cells is looked at once per column, and ``json``'s and ``str``'s own C
functions are mapped over it. The interpreter then does a few steps per column rather than
per cell, and the text is the same as encoding each row alone (``json.dumps(row)``, or the
CSV rules of :mod:`tracklm.stores._table_files`). Cells of other types take the per-cell path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from itertools import groupby, repeat
from json.encoder import encode_basestring, encode_basestring_ascii
from operator import itemgetter
from typing import Any, NamedTuple

Row = dict[str, Any]


class Run(NamedTuple):
    """Consecutive rows with the same keys, and their values column by column."""

    keys: tuple[str, ...]
    size: int
    columns: dict[str, Sequence[Any]]


RUN_ROWS = 500
"""The most rows of a run: a column's cells are encoded by one C call, which holds the GIL
from start to end; a few hundred 1 KB cells take about a millisecond."""


def runs(rows: Sequence[Row]) -> list[Run] | None:
    """The runs of ``rows`` in order, each of at most :data:`RUN_ROWS` rows; None when a key
    is not a string (the rows are then taken one by one)."""
    shapes = list(map(tuple, rows))
    if shapes and shapes.count(shapes[0]) == len(shapes):  # the common case: a single run
        groups: list[tuple[tuple[Any, ...], Sequence[Row]]] = [(shapes[0], rows)]
    else:
        groups = [
            (shape, [row for _, row in group])
            for shape, group in groupby(zip(shapes, rows, strict=True), key=itemgetter(0))
        ]
    for keys, _ in groups:
        if not all(type(k) is str for k in keys):
            return None
    return [
        _run(keys, group[i : i + RUN_ROWS])
        for keys, group in groups
        for i in range(0, len(group), RUN_ROWS)
    ]


def _run(keys: tuple[str, ...], rows: Sequence[Row]) -> Run:
    # a pass per column is cheaper than transposing tuples of all the cells
    return Run(keys, len(rows), {k: list(map(itemgetter(k), rows)) for k in keys})


# -- JSON ---------------------------------------------------------------------------------


def strict_json(value: Any) -> Any:
    """``value`` without NaN or infinities (None instead): strict JSON, as pandas reads it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [strict_json(v) for v in value]
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    return value


def _dumps_ascii(value: Any) -> str:
    return json.dumps(value)


def _dumps_strict(value: Any) -> str:
    return json.dumps(strict_json(value), ensure_ascii=False)


def _cell_encoder(
    text: Callable[[str], str], nonfinite: Callable[[float], str], other: Callable[[Any], str]
) -> Callable[[Any], str]:
    """A cell's JSON text: the common kinds without the encoder ``json.dumps`` builds at every
    call for anything but a string; ``text`` for strings, ``nonfinite`` for NaN and the
    infinities, ``other`` for the rest."""

    def cell(value: Any) -> str:
        kind = type(value)
        if kind is str:
            return text(value)
        if value is None:
            return "null"
        if kind is int:
            return int.__repr__(value)
        if kind is float:
            return float.__repr__(value) if math.isfinite(value) else nonfinite(value)
        if kind is bool:
            return "true" if value else "false"
        return other(value)

    return cell


_cell_ascii = _cell_encoder(encode_basestring_ascii, _dumps_ascii, _dumps_ascii)
"""``json.dumps(value)``."""
_cell_strict = _cell_encoder(encode_basestring, lambda _: "null", _dumps_strict)
""":func:`_dumps_strict` of ``value``."""


def json_column(values: Sequence[Any], *, strict: bool) -> Sequence[str]:
    """Each value as ``json.dumps`` writes it: ASCII with NaN kept, or ``strict`` (NaN as
    null, other text as it is)."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind is str:
            return list(map(encode_basestring if strict else encode_basestring_ascii, values))
        if kind is _NONE:  # a column a call leaves empty (its error, its time to first chunk)
            return ["null"] * len(values)
        if kind is int:
            return list(map(int.__repr__, values))
        if kind is float and all(map(math.isfinite, values)):
            return list(map(float.__repr__, values))
    return list(map(_cell_strict if strict else _cell_ascii, values))


_NONE = type(None)


def json_objects(rows: Sequence[Row], *, strict: bool = False) -> list[str]:
    """``json.dumps(row)`` of each row: ASCII with NaN kept (the text the SQL stores keep, in
    which text a database cannot encode, a lone surrogate, survives), or ``strict`` as
    :func:`json_column` says (a ``.jsonl`` table's lines)."""
    found = runs(rows)
    if found is None:
        dumps = _dumps_strict if strict else _dumps_ascii
        return [dumps(row) for row in rows]
    texts: list[str] = []
    for run in found:
        texts.extend(run_objects(run, strict=strict))
    return texts


def run_objects(run: Run, *, strict: bool = False) -> Iterator[str]:
    """:func:`json_objects` of the rows of one run."""
    if not run.keys:
        return repeat("{}", run.size)
    key_text = encode_basestring if strict else encode_basestring_ascii
    # '%' in a key would be read as a conversion: doubled, it stands for itself
    template = "{" + ", ".join(key_text(k).replace("%", "%%") + ": %s" for k in run.keys) + "}"
    cells = [json_column(run.columns[k], strict=strict) for k in run.keys]
    return map(template.__mod__, zip(*cells, strict=True))


def json_arrays(columns: Sequence[str], rows: Sequence[Row]) -> str | None:
    """The rows of a ``.json`` table body, ``[cell, ...]`` each, joined by commas (strict JSON,
    UTF-8 text as it is); None when the rows must be taken one by one."""
    found = runs(rows)
    if found is None:
        return None
    parts: list[str] = []
    for run in found:
        if not columns:
            parts.extend(repeat("[]", run.size))
            continue
        absent = ["null"] * run.size  # a list: zip reads it once per column
        cells = [
            json_column(run.columns[c], strict=True) if c in run.columns else absent
            for c in columns
        ]
        parts.extend(map("[%s]".__mod__, map(", ".join, zip(*cells, strict=True))))
    return ",".join(parts)


# -- CSV ----------------------------------------------------------------------------------


def csv_lines(
    columns: Sequence[str], rows: Sequence[Row], cell: Callable[[Any], str]
) -> str | None:
    """The CSV lines of ``rows`` (no header), or None when rows must be taken one by one.

    ``cell`` is the per-cell rule (text, quoted where needed) for columns of other types.
    """
    found = runs(rows)
    if found is None:
        return None
    lines: list[str] = []
    for run in found:
        if not columns:
            lines.extend(repeat("", run.size))
            continue
        absent = [""] * run.size
        cells = [_csv_column(run.columns[c], cell) if c in run.columns else absent for c in columns]
        if len(columns) == 1:
            # a blank line would be skipped by readers: an empty cell is written as ""
            lines.extend(c or '""' for c in cells[0])
        else:
            lines.extend(map(",".join, zip(*cells, strict=True)))
    return "\n".join(lines) + "\n" if lines else ""


def _csv_column(values: Sequence[Any], cell: Callable[[Any], str]) -> Sequence[str]:
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind is str:
            return _csv_texts(values)
        if kind is _NONE:
            return [""] * len(values)
        if kind is int:
            return list(map(int.__repr__, values))
        if kind is float and all(map(math.isfinite, values)):
            return list(map(float.__repr__, values))
    return list(map(cell, values))


def _csv_texts(values: Sequence[str]) -> list[str]:
    """Text cells quoted where the csv module's minimal quoting would quote them."""
    out: list[str] = []
    append = out.append
    for v in values:
        if '"' in v:
            append('"' + v.replace('"', '""') + '"')
        elif "," in v or "\n" in v or "\r" in v:
            append('"' + v + '"')
        else:
            append(v)
    return out
