"""What the MLflow store sends: ``runs/log-batch`` bodies within MLflow's limits, values as
MLflow keeps them, and the checks a batch passes before anything is sent; and what it reads
back (metric values, the ``mlflow.loggedArtifacts`` tag, a run's artifact-proxy path)."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from tracklm import _validation as check
from tracklm._errors import InvalidValue, StoreError
from tracklm._log_once import log_once
from tracklm._run_manager.records import (
    AppendRows,
    CreateExperiment,
    CreateRun,
    LogMetric,
    LogParam,
    Record,
    SetRunStatus,
    SetTag,
)
from tracklm.entities import TERMINAL_STATUSES, Metric
from tracklm.stores._mlflow_rest import ARTIFACTS

logger = logging.getLogger("tracklm.stores.mlflow")

MAX_METRICS: Final = 1000
MAX_PARAMS_TAGS: Final = 100
MAX_ENTITIES: Final = 1000
MAX_REQUEST_BYTES: Final = 900_000
"""MLflow refuses a log-batch body over 1,000,000 bytes; this leaves room for the envelope."""
MAX_PARAM_VALUE: Final = 6000
MAX_TAG_VALUE: Final = 8000
_LARGEST: Final = 1.7976931348623157e308  # how MLflow keeps an infinity
_STATUSES: Final = frozenset({"RUNNING", "SCHEDULED", *TERMINAL_STATUSES})


def log_batch_bodies(
    params: list[tuple[str, str]], tags: list[tuple[str, str]], metrics: list[LogMetric]
) -> list[dict[str, Any]]:
    """``runs/log-batch`` bodies within MLflow's limits of count and size, params first."""
    bodies: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    size = 0

    def room(kind: str, cost: int) -> None:
        nonlocal current, size
        counts = {k: len(current.get(k, [])) for k in ("params", "tags", "metrics")}
        full = (
            not current
            or counts[kind] >= (MAX_METRICS if kind == "metrics" else MAX_PARAMS_TAGS)
            or sum(counts.values()) >= MAX_ENTITIES
            or size + cost > MAX_REQUEST_BYTES
        )
        if full:
            current = {"params": [], "tags": [], "metrics": []}
            bodies.append(current)
            size = 100

    for key, value in params:
        entry = {"key": key, "value": _text(value, MAX_PARAM_VALUE, "param", key)}
        cost = _size(entry)
        room("params", cost)
        current["params"].append(entry)
        size += cost
    for key, value in tags:
        entry = {"key": key, "value": _text(value, MAX_TAG_VALUE, "tag", key)}
        cost = _size(entry)
        room("tags", cost)
        current["tags"].append(entry)
        size += cost
    for metric in metrics:
        entry_m = {
            "key": metric.key,
            "value": _json_number(metric.value),
            "timestamp": metric.timestamp,
            "step": metric.step,
        }
        cost = _size(entry_m)
        room("metrics", cost)
        current["metrics"].append(entry_m)
        size += cost
    return bodies


def has_room(bodies: list[dict[str, Any]], tag: Mapping[str, str]) -> bool:
    if not bodies:
        return True
    last = bodies[-1]
    count = sum(len(last[k]) for k in ("params", "tags", "metrics"))
    size = len(json.dumps(last, separators=(",", ":"))) + _size(tag)
    return len(last["tags"]) < MAX_PARAMS_TAGS and count < MAX_ENTITIES and size < MAX_REQUEST_BYTES


def tags_of(raw: Mapping[str, Any]) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in raw.get("data", {}).get("tags", [])}


def _size(entry: Mapping[str, Any]) -> int:
    return len(json.dumps(entry, separators=(",", ":"))) + 1


def _text(value: str, limit: int, what: str, key: str) -> str:
    """A value as MLflow takes it: cut to ``limit`` characters, text every database stores."""
    if len(value) > limit:
        log_once(
            logger,
            f"tracklm cut a {what} value to the {limit} characters MLflow keeps ({what} {key!r} "
            "and any other after it)",
        )
        value = value[:limit]
    if "\x00" in value or not value.isascii():
        # NUL and unpaired surrogates break the server's database (500): keep them as escapes
        value = value.replace("\x00", "\\x00")
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _json_number(value: float) -> float | str:
    # protobuf's JSON names the values JSON lacks (MLflow reads a bare NaN as 0)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def metric_of(raw: Mapping[str, Any]) -> Metric:
    value = float(raw.get("value", 0.0))
    if abs(value) == _LARGEST:  # how MLflow keeps an infinity
        value = math.copysign(math.inf, value)
    return Metric(
        raw["key"], value, int_or_none(raw.get("step")) or 0, int_or_none(raw.get("timestamp")) or 0
    )


def int_or_none(value: Any) -> int | None:
    return int(value) if value is not None and value != "" else None


def logged_tables(value: str) -> set[str]:
    try:
        entries = json.loads(value)
    except ValueError:
        return set()
    return {
        e["path"]
        for e in entries
        if isinstance(e, dict) and e.get("type") == "table" and isinstance(e.get("path"), str)
    }


def proxy_path(artifact_uri: str, location: str) -> str:
    """The artifact proxy's path of a run's ``artifact_uri``."""
    if artifact_uri.startswith("mlflow-artifacts:"):
        rest = artifact_uri[len("mlflow-artifacts:") :]
        if rest.startswith("//"):  # mlflow-artifacts://host:port/path
            rest = "/" + rest[2:].partition("/")[2]
        return rest.strip("/")
    anchor = ARTIFACTS + "/"
    if artifact_uri.startswith(("http://", "https://")) and anchor in artifact_uri:
        return artifact_uri.split(anchor, 1)[1].strip("/")
    raise StoreError(
        f"The run's artifacts are at {artifact_uri!r}, which the MLflow server at {location} "
        "does not proxy: tracklm writes files and tables through the server, so start it with "
        "--serve-artifacts (MLflow's default) and a default artifact root of mlflow-artifacts:/."
    )


def check_records(records: Sequence[Record]) -> None:
    """Refuse a batch with a record MLflow cannot take, before anything is sent."""
    for record in records:
        if isinstance(record, CreateRun):
            for name in ("run_id", "experiment_name", "run_name"):
                if not isinstance(getattr(record, name), str):
                    raise InvalidValue(
                        f"A run's {name} is {getattr(record, name)!r} (null or not text); "
                        "MLflow needs text."
                    )
            _check_int(record.start_time, "start_time of a run")
            if not all(isinstance(v, str) for v in record.tags.values()):
                raise InvalidValue(f"A tag of run {record.run_id} is not text.")
        elif isinstance(record, (LogParam, SetTag)):
            check.check_key(record.key, "param" if isinstance(record, LogParam) else "tag")
            if not isinstance(record.value, str):
                raise InvalidValue(f"The value of {record.key!r} is {record.value!r}, not text.")
        elif isinstance(record, LogMetric):
            check.check_key(record.key, "metric")
            if not isinstance(record.value, (int, float)) or isinstance(record.value, bool):
                raise InvalidValue(f"Metric {record.key!r} has the value {record.value!r}.")
            _check_int(record.step, f"step of metric {record.key!r}")
            _check_int(record.timestamp, f"timestamp of metric {record.key!r}")
        elif isinstance(record, SetRunStatus) and record.status not in _STATUSES:
            raise InvalidValue(f"MLflow has no run status {record.status!r}.")
        elif isinstance(record, AppendRows) and not all(isinstance(r, dict) for r in record.rows):
            raise InvalidValue(f"Rows of table {record.artifact_file!r} are not dicts.")
        elif isinstance(record, CreateExperiment) and not isinstance(record.name, str):
            raise InvalidValue(f"An experiment's name is {record.name!r}, not text.")


def _check_int(value: object, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidValue(f"The {what} is {value!r}; MLflow needs a whole number >= 0.")
