"""Runs as a pandas DataFrame in the column shape of ``mlflow.search_runs``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tracklm.entities import Run

if TYPE_CHECKING:
    import pandas as pd

BASE_COLUMNS = (
    "run_id",
    "experiment_id",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "artifact_uri",
)


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row a run: attributes, then ``params.*``, ``metrics.*`` and ``tags.*`` columns."""
    import pandas as pd

    records: list[dict[str, Any]] = []
    params: dict[str, None] = {}
    metrics: dict[str, None] = {}
    tags: dict[str, None] = {}
    for run in runs:
        info, data = run.info, run.data
        record: dict[str, Any] = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "run_name": info.run_name,
            "status": info.status,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "artifact_uri": info.artifact_uri,
        }
        for prefix, values, seen in (
            ("params", data.params, params),
            ("metrics", data.metrics, metrics),
            ("tags", data.tags, tags),
        ):
            for key, value in values.items():
                record[f"{prefix}.{key}"] = value
                seen.setdefault(key)
        records.append(record)
    columns = [
        *BASE_COLUMNS,
        *(f"params.{k}" for k in sorted(params)),
        *(f"metrics.{k}" for k in sorted(metrics)),
        *(f"tags.{k}" for k in sorted(tags)),
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    for key in metrics:
        frame[f"metrics.{key}"] = frame[f"metrics.{key}"].astype("float64")
    return frame  # type: ignore[no-any-return,unused-ignore]
