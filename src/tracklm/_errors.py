"""Errors raised to users of tracklm.

Every error tracklm raises into user code is a :class:`TracklmError`; each subclass names one
kind of misuse, and its message says what was wrong and what to do about it::

    TracklmError
     ├── InvalidKey              a param/metric/tag/table key breaks the naming rules
     ├── InvalidValue            a value of the wrong type or size (bool metric, huge param)
     ├── ParamOverwrite          log_param of a key the run already holds with another value
     ├── InvalidArtifactPath     an artifact path that would leave the run's folder
     ├── InvalidFilter           search_runs got a filter or order_by it cannot parse
     ├── InvalidTrackingUri      a tracking URI with an unknown scheme or a bad path
     ├── RunNotFound             an id that names no run
     ├── ExperimentNotFound      a name or id that names no experiment
     ├── ExperimentExists        create_experiment with a name already taken
     ├── NoActiveRun             a run-level call with no active run and no run id
     ├── RunAlreadyActive        start_run while a run is active, without nested=True
     ├── TableNotFound           load_table of a table no selected run holds
     └── StoreError              the store cannot be read (locked, newer schema, corrupt)

Errors inside instrumentation or on the background writer never reach the user's call; they
are logged through ``logging.getLogger("tracklm")``.
"""

from __future__ import annotations

__all__ = [
    "ExperimentExists",
    "ExperimentNotFound",
    "InvalidArtifactPath",
    "InvalidFilter",
    "InvalidKey",
    "InvalidTrackingUri",
    "InvalidValue",
    "NoActiveRun",
    "ParamOverwrite",
    "RunAlreadyActive",
    "RunNotFound",
    "StoreError",
    "TableNotFound",
    "TracklmError",
]


class TracklmError(Exception):
    """Base class of every error tracklm raises into user code."""


class InvalidKey(TracklmError, ValueError):
    """A key (param, metric, tag, table column) breaks the naming rules."""


class InvalidValue(TracklmError, ValueError):
    """A value has the wrong type or size for where it is logged."""


class ParamOverwrite(TracklmError):
    """``log_param`` was given another value for a key the run already holds."""


class InvalidArtifactPath(TracklmError, ValueError):
    """An artifact path is absolute, contains ``..`` or goes through a link."""


class InvalidFilter(TracklmError, ValueError):
    """A ``filter_string`` or ``order_by`` of ``search_runs`` cannot be parsed."""


class InvalidTrackingUri(TracklmError, ValueError):
    """A tracking URI names no store tracklm knows."""


class RunNotFound(TracklmError, LookupError):
    """A run id names no run in the store."""


class ExperimentNotFound(TracklmError, LookupError):
    """An experiment name or id names no experiment in the store."""


class ExperimentExists(TracklmError):
    """``create_experiment`` was given a name that another experiment has."""


class NoActiveRun(TracklmError):
    """A call needs a run but none is active in this context."""


class RunAlreadyActive(TracklmError):
    """``start_run`` was called while a run is active, without ``nested=True``."""


class TableNotFound(TracklmError, LookupError):
    """``load_table`` found the table in none of the selected runs."""


class StoreError(TracklmError):
    """The store cannot be opened or read."""
