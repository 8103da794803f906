"""Process-wide settings: the tracking URI, the artifact root and the current experiment name.

A value set in code (``set_tracking_uri``, ``set_experiment``, the CLI's ``--artifact-root``)
wins over the environment (``TRACKLM_TRACKING_URI``, ``TRACKLM_ARTIFACT_ROOT``,
``TRACKLM_EXPERIMENT_NAME``), which is read each time so that a change of the environment is
seen.
"""

from __future__ import annotations

import os
from typing import Any, Final

DEFAULT_EXPERIMENT_NAME: Final = "Default"

tracking_uri: str | None = None
artifact_root: str | None = None
experiment_name: str | None = None


def getenv(name: str) -> str | None:
    """``os.environ.get(name)``, for the user's call path: a variable that is not set costs
    ``os.environ.get`` a raised and caught KeyError (microseconds); this looks in the mapping's
    own dictionary instead, as fresh as ``os.environ`` itself."""
    if os.environ is _ENVIRON:
        try:
            key = _env_keys[name]
        except KeyError:
            key = _env_keys[name] = _ENVIRON.encodekey(name)
        raw = _DATA.get(key)
        return None if raw is None else _ENVIRON.decodevalue(raw)
    return os.environ.get(name)  # replaced by another mapping (or one without a dictionary)


# os.environ and the dictionary behind it, which it changes in place (never rebinds); no
# os.environ is this when it has no such dictionary
_DATA: Final[Any] = getattr(os.environ, "_data", None)
_ENVIRON: Final[Any] = os.environ if isinstance(_DATA, dict) else object()
_env_keys: dict[str, Any] = {}


def current_tracking_uri() -> str | None:
    """The configured tracking URI, or None for the default store."""
    if tracking_uri is not None:
        return tracking_uri
    return getenv("TRACKLM_TRACKING_URI") or None


def current_artifact_root() -> str | None:
    """The configured artifact root (a folder or an fsspec URL), or None for the default."""
    if artifact_root is not None:
        return artifact_root
    return os.environ.get("TRACKLM_ARTIFACT_ROOT") or None


def current_experiment_name() -> str:
    return experiment_name or getenv("TRACKLM_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT_NAME
