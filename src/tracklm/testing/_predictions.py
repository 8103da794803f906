"""Reading back the predictions rows that autolog (or ``log_table``) wrote for a run."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["json_cell", "prediction", "predictions"]


def predictions(run_id: str | Any | None = None) -> list[dict[str, Any]]:
    """The rows of a run's ``predictions.csv`` table, oldest (lowest ``step``) first, with
    None for empty cells; after waiting for everything logged so far to be written.

    ``run_id``: a run id, or a run (anything with ``.info.run_id``); the active run when None.
    """
    import tracklm

    if run_id is None:
        active = tracklm.active_run()
        if active is None:
            raise ValueError("no run_id given and no active run")
        run_id = active
    if not isinstance(run_id, str):
        run_id = run_id.info.run_id
    report = tracklm.flush(timeout=30)
    if not report.ok:
        raise AssertionError(f"tracklm.flush() did not finish: {report}")
    frame = tracklm.load_table("predictions.csv", run_ids=[run_id])
    records: list[dict[str, Any]] = (
        frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    )
    if records and "step" in records[0]:
        records.sort(key=lambda r: int(r["step"]))
    return records


def prediction(run_id: str | Any | None = None) -> dict[str, Any]:
    """The run's only predictions row (see :func:`predictions`); fails unless there is one."""
    rows = predictions(run_id)
    if len(rows) != 1:
        raise AssertionError(f"expected one predictions row, found {len(rows)}")
    return rows[0]


def json_cell(cell: Any) -> Any:
    """A JSON cell of a row (``inputs``, ``outputs``, ``params``) as values; None stays None."""
    return None if cell is None else json.loads(cell)
