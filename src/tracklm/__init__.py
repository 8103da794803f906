"""tracklm: record every LLM call your app makes into experiments and runs, with one line.

::

    import tracklm

    tracklm.set_experiment("support-bot")
    with tracklm.start_run(run_name="prompt-v2"):
        tracklm.log_param("temperature", 0.2)
        tracklm.log_metric("latency_ms", 412.0)
        tracklm.log_table({"prompt": ["hi"], "response": ["hello"]}, "predictions.csv")

    tracklm.search_runs(filter_string="metrics.latency_ms < 500")   # a pandas DataFrame

Data goes to ``./tracklm-runs/`` unless :func:`set_tracking_uri` or ``TRACKLM_TRACKING_URI``
says otherwise. ``import tracklm`` does not import pandas or any LLM SDK.
"""

from __future__ import annotations

from contextlib import suppress as _suppress

from tracklm._context import carry_context
from tracklm._errors import (
    ExperimentExists,
    ExperimentNotFound,
    InvalidArtifactPath,
    InvalidFilter,
    InvalidKey,
    InvalidTrackingUri,
    InvalidValue,
    NoActiveRun,
    ParamOverwrite,
    RunAlreadyActive,
    RunNotFound,
    StoreError,
    TableNotFound,
    TracklmError,
)
from tracklm._fluent import (
    ActiveRun,
    active_run,
    end_run,
    flush,
    get_run,
    get_tracking_uri,
    load_table,
    log_artifact,
    log_dict,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from tracklm.autolog import CallRecord, autolog, autolog_disabled, no_autolog
from tracklm.client import TracklmClient
from tracklm.entities import (
    Experiment,
    FlushResult,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "ActiveRun",
    "CallRecord",
    "Experiment",
    "ExperimentExists",
    "ExperimentNotFound",
    "FlushResult",
    "InvalidArtifactPath",
    "InvalidFilter",
    "InvalidKey",
    "InvalidTrackingUri",
    "InvalidValue",
    "Metric",
    "NoActiveRun",
    "ParamOverwrite",
    "Run",
    "RunAlreadyActive",
    "RunData",
    "RunInfo",
    "RunNotFound",
    "RunStatus",
    "StoreError",
    "TableNotFound",
    "TracklmClient",
    "TracklmError",
    "__version__",
    "active_run",
    "autolog",
    "autolog_disabled",
    "carry_context",
    "end_run",
    "flush",
    "get_run",
    "get_tracking_uri",
    "load_table",
    "log_artifact",
    "log_dict",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "no_autolog",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

# Public objects say `tracklm.X` in reprs and tracebacks, not the private module they live in.
for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, str):
        with _suppress(AttributeError, TypeError):
            _obj.__module__ = "tracklm"
del _name, _obj
