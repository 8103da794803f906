"""The records that travel from a logging call to the store, and their batches.

A record is a small named tuple made on the caller's thread with as little work as possible;
table rows keep the caller's objects until the flusher thread normalizes them into plain JSON
values (:func:`normalize`). A :class:`Batch` is what one store write applies atomically; its id
lets a store skip a batch it already holds when a journal is replayed twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Protocol, TypeAlias

from tracklm._random_ids import random_hex


class CreateExperiment(NamedTuple):
    experiment_id: str
    name: str
    creation_time: int


class CreateRun(NamedTuple):
    run_id: str
    experiment_id: str
    experiment_name: str
    run_name: str
    start_time: int
    tags: Mapping[str, str]
    parent_run_id: str | None


class SetRunStatus(NamedTuple):
    run_id: str
    status: str
    end_time: int | None


class LogParam(NamedTuple):
    run_id: str
    key: str
    value: str


class LogMetric(NamedTuple):
    run_id: str
    key: str
    value: float
    step: int
    timestamp: int


class SetTag(NamedTuple):
    run_id: str
    key: str
    value: str


class AppendRows(NamedTuple):
    """Rows for the table ``artifact_file`` of a run.

    ``rows`` is a list of dicts of plain JSON values (column -> value): made on the caller's
    thread, so that what the caller changes afterwards is not what gets stored.
    """

    run_id: str
    artifact_file: str
    rows: list[dict[str, Any]]


Record: TypeAlias = (
    CreateExperiment | CreateRun | SetRunStatus | LogParam | LogMetric | SetTag | AppendRows
)
Row: TypeAlias = dict[str, Any]

_KINDS: dict[str, type[Record]] = {
    cls.__name__: cls
    for cls in (CreateExperiment, CreateRun, SetRunStatus, LogParam, LogMetric, SetTag, AppendRows)
}


@dataclass
class Batch:
    """Records written to the store in one transaction, in order."""

    records: list[Record]
    batch_id: str = field(default_factory=random_hex)

    def to_json(self) -> str:
        """One line of the journal (NaN and infinities are kept as JSON extensions)."""
        body = [[type(r).__name__, *r] for r in self.records]
        return json.dumps({"id": self.batch_id, "records": body}, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Batch:
        data = json.loads(line)
        records = [_KINDS[kind](*fields) for kind, *fields in data["records"]]
        return cls(records=records, batch_id=data["id"])


class Deferred(Protocol):
    """A record finished on the flusher thread: it expands into plain records there."""

    def expand(self) -> list[Record]: ...


def normalize(record: Record | Deferred) -> list[Record]:
    """The plain records ``record`` stands for (a deferred record expands on the flusher)."""
    if isinstance(record, tuple):
        return [record]
    return [plain for inner in record.expand() for plain in normalize(inner)]


PLAIN_TYPES: Final = frozenset({str, int, float, bool, type(None)})


def frame_rows(frame: Any) -> list[Row]:
    """The rows of a pandas DataFrame as plain-JSON dicts (numpy values become Python's)."""
    names = [str(c) for c in frame.columns]
    columns = [frame[c].tolist() for c in frame.columns]
    return [
        {name: json_value(col[i]) for name, col in zip(names, columns, strict=True)}
        for i in range(len(frame.index))
    ]


def json_value(value: Any) -> Any:
    """Turn a logged cell into a plain JSON value: numbers, strings, None, lists, dicts."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return _missing_or(value, value.isoformat())  # pandas' NaT is a datetime too
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return json_value(value.tolist())
    return _missing_or(value, str(value))


def _missing_or(value: Any, fallback: Any) -> Any:
    # pandas' NA and NaT compare as neither equal nor unequal to themselves
    try:
        if value != value:
            return None
    except (TypeError, ValueError):
        return None
    except Exception:  # an object whose comparison raises: it is not a missing value
        return fallback
    return fallback


def column_names(rows: Sequence[Row]) -> list[str]:
    """The columns of ``rows`` in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key)
    return list(seen)
