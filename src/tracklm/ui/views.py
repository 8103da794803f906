"""What each page shows, read from the store: the runs table, a table's page, a comparison.

Pages of a table, its facets and joins are the store's queries (paged and filtered in SQL);
the runs of one experiment are filtered and sorted here with ``search_runs``' grammar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tracklm._errors import InvalidFilter
from tracklm.entities import Run
from tracklm.stores._filter import OrderKey, RunEntityFields, matches, parse_filter, sort_runs
from tracklm.stores.base import FACET_COLUMNS, Store, TableJoin
from tracklm.ui.formatting import cell
from tracklm.ui.messages import input_preview, output_preview

__all__ = [
    "PAGE_ROWS",
    "Column",
    "Compared",
    "JoinView",
    "RunsTable",
    "TableView",
    "compare_values",
    "join_view",
    "runs_table",
    "shared_tables",
    "table_view",
]

PAGE_ROWS: Final = 50
"""Rows of a table per page."""
PAGE_RUNS: Final = 100
PAGE_GROUPS: Final = 20
DEFAULT_COLUMNS: Final = 4
"""Params and metrics shown as columns of the runs table unless others are chosen."""
PREDICTION_COLUMNS: Final = (
    "timestamp",
    "operation",
    "model",
    "inputs",
    "outputs",
    "latency_ms",
    "total_tokens",
    "status",
)
_ATTRIBUTE_SORTS: Final = {"name": "run_name", "status": "status", "start": "start_time"}


@dataclass(frozen=True)
class Column:
    """A column of the runs table: ``params.<key>`` or ``metrics.<key>``."""

    key: str

    @property
    def entity(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    def value(self, run: Run) -> Any:
        source: Mapping[str, Any] = run.data.params if self.entity == "params" else run.data.metrics
        return source.get(self.name)


@dataclass
class RunsTable:
    """The runs of an experiment as the runs page shows them."""

    runs: list[Run]
    matched: int
    columns: list[Column]
    params: list[str]
    metrics: list[str]
    sort: str
    descending: bool
    page: int
    pages: int
    error: str | None = None


def runs_table(
    store: Store,
    experiment_id: str,
    *,
    filter_string: str = "",
    sort: str = "start",
    descending: bool = True,
    columns: Sequence[str] | None = None,
    page: int = 1,
) -> RunsTable:
    """The runs matching ``filter_string``, sorted by ``sort`` (``name``, ``status``,
    ``start``, ``duration``, ``params.<key>`` or ``metrics.<key>``), one page of them."""
    runs = store.list_runs([experiment_id])
    params = sorted({k for r in runs for k in r.data.params})
    metrics = sorted({k for r in runs for k in r.data.metrics})
    error = None
    try:
        comparisons = parse_filter(filter_string)
    except InvalidFilter as exc:
        error, comparisons = str(exc), ()
    runs = [r for r in runs if matches(RunEntityFields(r), comparisons)]
    runs = _sorted(runs, sort, descending)
    chosen = _columns(columns, runs, params, metrics)
    pages = max(1, math.ceil(len(runs) / PAGE_RUNS))
    page = min(max(1, page), pages)
    shown = runs[(page - 1) * PAGE_RUNS : page * PAGE_RUNS]
    return RunsTable(
        shown, len(runs), chosen, params, metrics, sort, descending, page, pages, error
    )


def _sorted(runs: list[Run], sort: str, descending: bool) -> list[Run]:
    if sort == "duration":
        timed = [r for r in runs if r.info.end_time is not None]
        timed.sort(key=lambda r: (r.info.end_time or 0) - r.info.start_time, reverse=descending)
        return timed + [r for r in runs if r.info.end_time is None]
    entity, _, key = sort.partition(".")
    if sort in _ATTRIBUTE_SORTS:
        order = OrderKey("attributes", _ATTRIBUTE_SORTS[sort], not descending)
    elif entity in ("params", "metrics", "tags") and key:
        order = OrderKey(entity, key, not descending)  # type: ignore[arg-type]
    else:
        order = OrderKey("attributes", "start_time", False)
    return sort_runs(runs, [order], RunEntityFields)


def _columns(
    chosen: Sequence[str] | None, runs: list[Run], params: list[str], metrics: list[str]
) -> list[Column]:
    known = {f"params.{k}" for k in params} | {f"metrics.{k}" for k in metrics}
    if chosen:
        return [Column(k) for k in chosen if k in known]
    # by default the metrics, then the params whose values differ between runs
    differing = [k for k in params if len({r.data.params.get(k) for r in runs}) > 1]
    picked = [f"metrics.{k}" for k in metrics[:DEFAULT_COLUMNS]]
    picked += [f"params.{k}" for k in (differing or params)[:DEFAULT_COLUMNS]]
    return [Column(k) for k in picked]


# -- a table's page ----------------------------------------------------------------------------


@dataclass
class TableView:
    """A page of a run's table with what its filters offer."""

    artifact_file: str
    columns: list[str]
    rows: list[tuple[int, list[str]]]
    total: int
    page: int
    pages: int
    facets: dict[str, list[tuple[str, int]]]
    search: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    newest_first: bool = False

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first row among the matches."""
        return (self.page - 1) * PAGE_ROWS + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def table_view(
    store: Store,
    run_id: str,
    artifact_file: str,
    *,
    search: str = "",
    filters: Mapping[str, str] | None = None,
    page: int = 1,
    newest_first: bool = False,
) -> TableView | None:
    """One page of a run's table (None if the run has no such table)."""
    equal = {k: v for k, v in (filters or {}).items() if k in FACET_COLUMNS and v}
    page = max(1, page)
    found = store.query_table(
        run_id,
        artifact_file,
        offset=(page - 1) * PAGE_ROWS,
        limit=PAGE_ROWS,
        search=search.strip() or None,
        filters=equal,
        descending=newest_first,
    )
    if found is None:
        return None
    pages = max(1, math.ceil(found.total / PAGE_ROWS))
    columns = _table_columns([row for _, row in found.rows])
    rows = [(n, [_cell(c, row.get(c)) for c in columns]) for n, row in found.rows]
    facets = store.table_facets(run_id, artifact_file)
    return TableView(
        artifact_file, columns, rows, found.total, page, pages, facets, search, equal, newest_first
    )


def _table_columns(rows: list[dict[str, Any]]) -> list[str]:
    present: dict[str, None] = {}
    for row in rows:
        present.update(dict.fromkeys(row))
    preferred: list[str] = [c for c in PREDICTION_COLUMNS if c in present]
    if "inputs" in present or "outputs" in present:
        return preferred
    return list(present)[:8]


def _cell(column: str, value: Any) -> str:
    if column == "inputs":
        return input_preview(value)
    if column == "outputs":
        return output_preview(value)
    if column == "timestamp" and isinstance(value, str) and "T" in value:
        return value.replace("T", " ")[:19]  # ISO-8601 to the second, the zone is UTC
    return cell(value, 40)


# -- comparing runs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Compared:
    """One key across the compared runs: its values, and whether they differ."""

    key: str
    values: list[str]
    differs: bool


def compare_values(maps: Sequence[Mapping[str, Any]], show: Any = str) -> list[Compared]:
    """Each key of any of ``maps`` with its value in each (blank where missing)."""
    keys = sorted({k for m in maps for k in m})
    rows = []
    for key in keys:
        raw = [m.get(key) for m in maps]
        values = ["" if v is None else show(v) for v in raw]
        rows.append(Compared(key, values, len(set(values)) > 1))
    return rows


@dataclass
class JoinView:
    """A page of the compared runs' rows, grouped by equal inputs."""

    artifact_file: str
    join: TableJoin
    page: int
    pages: int
    in_all: bool
    previews: list[str]
    cells: list[list[list[tuple[int, str, str]]]]
    """For each group, each run's rows as (row number, output preview, status)."""


def join_view(
    store: Store, run_ids: Sequence[str], artifact_file: str, *, page: int, in_all: bool
) -> JoinView:
    """The ``page``-th page of the runs' rows joined on equal ``inputs``."""
    page = max(1, page)
    join = store.join_tables(
        run_ids,
        artifact_file,
        offset=(page - 1) * PAGE_GROUPS,
        limit=PAGE_GROUPS,
        in_all=in_all,
    )
    previews = [input_preview(g.inputs) for g in join.groups]
    cells = [
        [
            [(n, output_preview(row.get("outputs")), cell(row.get("status"), 20)) for n, row in rs]
            for rs in group.rows
        ]
        for group in join.groups
    ]
    pages = max(1, math.ceil(join.total / PAGE_GROUPS))
    return JoinView(artifact_file, join, page, pages, in_all, previews, cells)


def shared_tables(store: Store, run_ids: Sequence[str]) -> list[str]:
    """The tables that hold an ``inputs`` column in at least two of the runs, most shared
    first, ``predictions.csv`` before others."""
    counts: dict[str, int] = {}
    for run_id in run_ids:
        for name in store.list_tables(run_id):
            counts[name] = counts.get(name, 0) + 1
    names = [n for n, c in counts.items() if c >= 2]
    return sorted(names, key=lambda n: (n != "predictions.csv", -counts[n], n))
