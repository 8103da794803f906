"""JSON endpoints for the charts: a metric's history thinned on the server.

A chart never gets more than ``points`` values (1,000 by default), however long the history:
each bucket of steps keeps its first, last, lowest and highest value
(:meth:`Store.sample_metric_history`). Values JSON cannot hold (infinities) are sent as null.
"""

from __future__ import annotations

import math
from typing import Any, Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tracklm.stores.base import MetricSample, Store

__all__ = ["compare_metric", "metric"]

DEFAULT_POINTS: Final = 1000
MAX_POINTS: Final = 10_000
MAX_RUNS: Final = 5


def metric(request: Request) -> Response:
    """``{"key", "total", "step": [...], "time": [...] (s), "value": [...]}`` of one run."""
    store: Store = request.app.state.store
    run_id, key = request.path_params["run_id"], request.path_params["key"]
    if store.get_run(run_id) is None:
        raise HTTPException(404, f"No run has id {run_id!r}.")
    query = request.query_params
    sample = store.sample_metric_history(
        run_id,
        key,
        _points(query.get("points")),
        min_step=_optional_int(query.get("min_step")),
        max_step=_optional_int(query.get("max_step")),
    )
    return JSONResponse({"key": key, **_series(sample)})


def compare_metric(request: Request) -> Response:
    """``{"key", "runs": [{"id", "total", "step", "time", "value"}, ...]}`` of several runs."""
    store: Store = request.app.state.store
    key = request.path_params["key"]
    ids = request.query_params.getlist("run")[:MAX_RUNS]
    points = _points(request.query_params.get("points"))
    runs = []
    for run_id in ids:
        if store.get_run(run_id) is None:
            raise HTTPException(404, f"No run has id {run_id!r}.")
        sample = store.sample_metric_history(run_id, key, points)
        runs.append({"id": run_id, **_series(sample)})
    return JSONResponse({"key": key, "runs": runs})


def _series(sample: MetricSample) -> dict[str, Any]:
    return {
        "total": sample.total,
        "step": [m.step for m in sample.points],
        "time": [m.timestamp / 1000 for m in sample.points],
        "value": [m.value if math.isfinite(m.value) else None for m in sample.points],
    }


def _points(text: str | None) -> int:
    value = _optional_int(text)
    return DEFAULT_POINTS if value is None else min(max(value, 10), MAX_POINTS)


def _optional_int(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise HTTPException(400, f"Expected a whole number, got {text!r}.") from None
