"""Artifact repositories: where the runs' files go, chosen by an artifact root.

=====================================  ==========================================================
artifact root                          repository
=====================================  ==========================================================
``path/to/folder``, ``file:///path``   :class:`~.local.LocalArtifactRepository`: a folder on this
                                       machine or on a path every machine mounts
``s3://bucket/prefix``, ``memory://``  :class:`~.fsspec.FsspecArtifactRepository`: any fsspec
(any other ``scheme://``)              URL whose driver is installed
=====================================  ==========================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tracklm.stores.artifacts.base import ArtifactRepository, TableLoader, TableUpdate
from tracklm.stores.artifacts.local import LocalArtifactRepository

__all__ = [
    "ArtifactRepository",
    "LocalArtifactRepository",
    "TableLoader",
    "TableUpdate",
    "open_artifact_repository",
]


def open_artifact_repository(root: str | os.PathLike[str]) -> ArtifactRepository:
    """The repository an artifact root names: a local path, ``file://`` URL or fsspec URL."""
    text = os.fspath(root).strip()
    scheme = urlsplit(text).scheme if "://" in text else ""
    if scheme == "file":
        return LocalArtifactRepository(Path(unquote(urlsplit(text).path)))
    if scheme:
        from tracklm.stores.artifacts.fsspec import FsspecArtifactRepository

        return FsspecArtifactRepository(text)
    return LocalArtifactRepository(Path(text))
