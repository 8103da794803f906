"""Stores that keep experiments, runs and their data, chosen by a tracking URI.

====================================  ==========================================================
URI                                   store
====================================  ==========================================================
(unset)                               ``./tracklm-runs/`` in the working directory
``path/to/folder``, ``file://``       a folder holding ``tracklm.db`` and ``artifacts/``
``sqlite:///relative.db``             that SQLite file (``sqlite:////abs/path.db`` for an
                                      absolute path), artifacts in ``artifacts/`` beside it
``postgresql://user:pw@host/db``      a PostgreSQL database (also ``postgres://`` and
                                      ``postgresql+psycopg://``; ``?schema=name`` for a schema)
``mlflow+http://host:5000``           an MLflow tracking server, over its REST API (also
                                      ``mlflow+https://``; ``?workspace=name`` for an MLflow
                                      workspace): :mod:`tracklm.stores.mlflow`
====================================  ==========================================================

Artifacts go to the artifact root: ``TRACKLM_ARTIFACT_ROOT`` (or the CLI's
``--artifact-root``), a folder path or an fsspec URL. Without one, a SQLite store keeps them in
``artifacts/`` beside its database and a PostgreSQL store in ``./tracklm-runs/artifacts``.
An MLflow server keeps every file itself, through its artifact proxy (``--serve-artifacts``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tracklm import _config
from tracklm.stores._uri import DEFAULT_TRACKING_DIR, mask_password, parse
from tracklm.stores.artifacts import ArtifactRepository, open_artifact_repository
from tracklm.stores.base import Store, StoreUnavailable

__all__ = [
    "DEFAULT_TRACKING_DIR",
    "Store",
    "StoreUnavailable",
    "mask_password",
    "open_store",
    "resolve_uri",
]

logger = logging.getLogger("tracklm.stores")


def resolve_uri(uri: str | os.PathLike[str] | None) -> str:
    """The normalized, absolute form of a tracking URI (the default when ``uri`` is None).

    A PostgreSQL URI keeps its password here (a store is opened from it): show it to people
    only through :func:`mask_password`.
    """
    return parse(uri).uri


def open_store(uri: str | os.PathLike[str] | None) -> Store:
    """Open the store a tracking URI names; nothing is created until first use.

    Its artifact root is ``TRACKLM_ARTIFACT_ROOT`` (read now), else the store's default.
    """
    address = parse(uri)
    root = _config.current_artifact_root()
    if address.kind == "postgres":
        from tracklm.stores.postgres import PostgresStore

        return PostgresStore(address.uri, _postgres_artifacts(root, address.uri))
    if address.kind == "mlflow":
        from tracklm.stores.mlflow import MLflowStore

        if root:
            logger.warning(
                "tracklm: the artifact root %s is not used for %s: an MLflow server keeps the "
                "runs' files itself (through its artifact proxy).",
                root,
                mask_password(address.uri),
            )
        return MLflowStore(address.uri)
    from tracklm.stores.sqlite import SQLiteStore

    assert address.path is not None
    return SQLiteStore(address.path, open_artifact_repository(root) if root else None)


def _postgres_artifacts(root: str | None, uri: str) -> ArtifactRepository:
    if root:
        return open_artifact_repository(root)
    default = Path.cwd() / DEFAULT_TRACKING_DIR / "artifacts"
    logger.warning(
        "tracklm: no artifact root is set for %s; artifacts go to %s on this machine. Set "
        "TRACKLM_ARTIFACT_ROOT (or --artifact-root) to a shared path or a URL such as "
        "s3://bucket/prefix so that every machine writes to one place.",
        mask_password(uri),
        default,
    )
    return open_artifact_repository(default)
