"""The HTML pages: experiments, an experiment's runs, a run, a table row, a comparison.

Handlers are plain functions (Starlette runs them in its thread pool): the store's reads block.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from tracklm.entities import Run
from tracklm.stores.base import FACET_COLUMNS, Store
from tracklm.ui import views
from tracklm.ui.artifacts import ArtifactRefused, is_text, open_artifact, preview
from tracklm.ui.formatting import number
from tracklm.ui.messages import read_inputs, read_outputs

__all__ = ["artifact", "compare", "error_page", "experiments", "row", "run", "runs"]


def _version() -> str:
    """tracklm's version: in the static files' URLs, so that an upgrade is not served stale."""
    try:
        return importlib.metadata.version("tracklm")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


MAX_COMPARED: Final = 5
VERSION: Final = _version()
_ROW_FIELDS: Final = ("inputs", "outputs", "params")


def experiments(request: Request) -> Response:
    """Every experiment with its run count and last activity."""
    store = _store(request)
    return _render(request, "experiments.html", summaries=store.experiment_summaries())


def runs(request: Request) -> Response:
    """An experiment's runs: filtered, sorted, paged, with columns to choose."""
    store = _store(request)
    experiment = store.get_experiment(request.path_params["experiment_id"])
    if experiment is None:
        raise HTTPException(404, "No experiment has this id.")
    query = request.query_params
    table = views.runs_table(
        store,
        experiment.experiment_id,
        filter_string=query.get("filter", ""),
        sort=query.get("sort", "start"),
        descending=query.get("order", "desc") != "asc",
        columns=query.getlist("column") or None,
        page=_int(query.get("page"), 1),
    )
    return _render(
        request,
        "runs.html",
        experiment=experiment,
        table=table,
        filter=query.get("filter", ""),
        chosen=query.getlist("column"),
    )


def run(request: Request) -> Response:
    """A run: info, params, tags, metrics (charts), artifacts and a page of a table."""
    store = _store(request)
    found = _run(store, request.path_params["run_id"])
    tables = store.list_tables(found.info.run_id)
    query = request.query_params
    name = query.get("table") or ("predictions.csv" if "predictions.csv" in tables else "")
    name = name or (tables[0] if tables else "")
    table, table_keep = None, {}
    if name:
        table = views.table_view(
            store,
            found.info.run_id,
            name,
            search=query.get("q", ""),
            filters={c: query.get(c, "") for c in FACET_COLUMNS},
            page=_int(query.get("page"), 1),
            newest_first=query.get("order") == "newest",
        )
        if table is None:
            raise HTTPException(404, f"This run has no table {name!r}.")
        table_keep = {
            "table": name,
            "q": table.search,
            "order": "newest" if table.newest_first else None,
            **table.filters,
        }
    experiment = store.get_experiment(found.info.experiment_id)
    files = store.artifacts.list_files(found.info.experiment_id, found.info.run_id)
    return _render(
        request,
        "run.html",
        run=found,
        experiment=experiment,
        tables=tables,
        table=table,
        table_keep=table_keep,
        artifacts=[(f, is_text(f)) for f in files],
        metric_keys=sorted(found.data.metrics),
        page_data={
            "metrics": sorted(found.data.metrics),
            "api": request.app.url_path_for("api_metric", run_id=found.info.run_id, key="x")[:-1],
        },
    )


def row(request: Request) -> Response:
    """One row of a run's table in full: the prompt as a conversation, the response, the rest."""
    store = _store(request)
    found = _run(store, request.path_params["run_id"])
    name = request.query_params.get("table", "predictions.csv")
    number_ = request.path_params["number"]
    page = store.query_table(found.info.run_id, name, offset=number_, limit=1)
    if page is None:
        raise HTTPException(404, f"This run has no table {name!r}.")
    if not page.rows:
        raise HTTPException(404, f"The table {name!r} has no row {number_} (it has {page.total}).")
    values = page.rows[0][1]
    return _render(
        request,
        "row.html",
        run=found,
        table=name,
        number=number_,
        total=page.total,
        table_page=number_ // views.PAGE_ROWS + 1,
        row=values,
        messages=read_inputs(values.get("inputs")),
        outputs=read_outputs(values.get("outputs")),
        params=values.get("params"),
        experiment=store.get_experiment(found.info.experiment_id),
        others=[(k, v) for k, v in values.items() if k not in _ROW_FIELDS and v is not None],
        empty=[k for k, v in values.items() if k not in _ROW_FIELDS and v is None],
    )


def artifact(request: Request) -> Response:
    """An artifact: shown as text in a page (``?view=1``, text files) or downloaded."""
    store = _store(request)
    found = _run(store, request.path_params["run_id"])
    path = request.path_params["path"]
    try:
        if request.query_params.get("view") and is_text(path):
            text, cut = preview(store, found, path)
            return _render(request, "artifact.html", run=found, path=path, text=text, cut=cut)
        chunks = open_artifact(store, found, path)
    except ArtifactRefused as exc:
        raise HTTPException(404, str(exc)) from None
    filename = path.rsplit("/", 1)[-1]
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


def compare(request: Request) -> Response:
    """2 to 5 runs side by side: params, metrics, and their rows joined on equal inputs."""
    store = _store(request)
    query = request.query_params
    ids = list(dict.fromkeys(query.getlist("run")))
    if not 2 <= len(ids) <= MAX_COMPARED:
        raise HTTPException(400, f"Choose 2 to {MAX_COMPARED} runs to compare (got {len(ids)}).")
    compared = [_run(store, run_id) for run_id in ids]
    tables = views.shared_tables(store, ids)
    name = query.get("table") or (tables[0] if tables else "")
    join = None
    if name:
        join = views.join_view(
            store, ids, name, page=_int(query.get("page"), 1), in_all=query.get("all") == "1"
        )
    params = views.compare_values([r.data.params for r in compared])
    if query.get("diff") == "1":
        params = [p for p in params if p.differs]
    return _render(
        request,
        "compare.html",
        runs=compared,
        ids=ids,
        params=params,
        metrics=views.compare_values([r.data.metrics for r in compared], number),
        only_differences=query.get("diff") == "1",
        tables=tables,
        join=join,
        page_data={
            "runs": [{"id": r.info.run_id, "name": r.info.run_name} for r in compared],
            "metrics": sorted({k for r in compared for k in r.data.metrics}),
            "api": "/api/compare/metrics/",
        },
    )


async def error_page(request: Request, exc: Exception) -> Response:
    """The error page of an HTTP error (JSON for the JSON endpoints)."""
    status = getattr(exc, "status_code", 500)
    detail = str(getattr(exc, "detail", "") or "")
    if status == 404 and detail in ("", "Not Found"):
        detail = "Nothing is at this address."
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": detail}, status_code=status)
    return _render(request, "error.html", status=status, detail=detail)


# -- helpers -----------------------------------------------------------------------------------


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _run(store: Store, run_id: str) -> Run:
    found = store.get_run(run_id)
    if found is None:
        raise HTTPException(404, f"No run has id {run_id!r}.")
    return found


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _render(request: Request, name: str, *, status: int = 200, **context: Any) -> Response:
    template = request.app.state.templates.get_template(name)
    html = template.render(
        request=request,
        status_code=status,
        path_for=request.app.url_path_for,
        with_query=with_query,
        store=_store(request),
        version=VERSION,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def with_query(path: Any, params: Mapping[str, Any] | None = None, **more: Any) -> str:
    """``path`` with a query string of ``params`` and ``more`` (None and "" left out; a list
    repeats its key)."""
    merged = {**(params or {}), **more}
    pairs: list[tuple[str, str]] = []
    for key, value in merged.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None and item != "" and item is not False:
                pairs.append((key, str(item)))
    return f"{path}?{urlencode(pairs)}" if pairs else str(path)
