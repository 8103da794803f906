"""Process-wide settings: the tracking URI, the artifact root and the current experiment name.

A value set in code (``set_tracking_uri``, ``set_experiment``, the CLI's ``--artifact-root``)
wins over the environment (``TRACKLM_TRACKING_URI``, ``TRACKLM_ARTIFACT_ROOT``,
``TRACKLM_EXPERIMENT_NAME``), which is read each time so that a change of the environment is
seen.
"""

from __future__ import annotations

import os
from typing import Final

DEFAULT_EXPERIMENT_NAME: Final = "Default"

tracking_uri: str | None = None
artifact_root: str | None = None
experiment_name: str | None = None


def current_tracking_uri() -> str | None:
    """The configured tracking URI, or None for the default store."""
    if tracking_uri is not None:
        return tracking_uri
    return os.environ.get("TRACKLM_TRACKING_URI") or None


def current_artifact_root() -> str | None:
    """The configured artifact root (a folder or an fsspec URL), or None for the default."""
    if artifact_root is not None:
        return artifact_root
    return os.environ.get("TRACKLM_ARTIFACT_ROOT") or None


def current_experiment_name() -> str:
    return experiment_name or os.environ.get("TRACKLM_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT_NAME
