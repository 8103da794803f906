"""Stores that keep experiments, runs and their data, chosen by a tracking URI.

=================================  =============================================================
URI                                store
=================================  =============================================================
(unset)                            ``./tracklm-runs/`` in the working directory
``path/to/folder``, ``file://``    a folder holding ``tracklm.db`` and ``artifacts/``
``sqlite:///relative.db``          that SQLite file (``sqlite:////abs/path.db`` for an absolute
                                   path), artifacts in ``artifacts/`` beside it
=================================  =============================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlparse

from tracklm._errors import InvalidTrackingUri
from tracklm.stores.base import Store, StoreUnavailable

__all__ = ["DEFAULT_TRACKING_DIR", "Store", "StoreUnavailable", "open_store", "resolve_uri"]

DEFAULT_TRACKING_DIR: Final = "tracklm-runs"
_SUPPORTED = "a folder path, file:///folder, or sqlite:///path/to/file.db"


def resolve_uri(uri: str | os.PathLike[str] | None) -> str:
    """The normalized, absolute form of a tracking URI (the default when ``uri`` is None)."""
    return _sqlite_path_and_uri(uri)[1]


def open_store(uri: str | os.PathLike[str] | None) -> Store:
    """Open the store a tracking URI names; nothing is created on disk until first use."""
    from tracklm.stores.sqlite import SQLiteStore

    path, _ = _sqlite_path_and_uri(uri)
    return SQLiteStore(path)


def _sqlite_path_and_uri(uri: str | os.PathLike[str] | None) -> tuple[Path, str]:
    from tracklm.stores.sqlite import DB_NAME

    text = os.fspath(uri) if uri is not None else ""
    text = text.strip() or DEFAULT_TRACKING_DIR
    parsed = urlparse(text)
    if parsed.scheme == "sqlite":
        # SQLAlchemy's form: sqlite:///relative.db, sqlite:////absolute.db
        raw = unquote(text[len("sqlite:///") :]) if text.startswith("sqlite:///") else ""
        if not raw:
            raise InvalidTrackingUri(
                f"Tracking URI {text!r} names no file; write sqlite:///path/to/file.db."
            )
        path = Path(raw).expanduser().absolute()
    elif parsed.scheme == "file":
        path = Path(unquote(parsed.path)).expanduser().absolute() / DB_NAME
    elif parsed.scheme and len(parsed.scheme) > 1:  # one letter would be a Windows drive
        raise InvalidTrackingUri(
            f"Tracking URI {text!r} has the scheme {parsed.scheme!r}, which tracklm does not "
            f"know. Use {_SUPPORTED}."
        )
    else:
        path = Path(text).expanduser().absolute() / DB_NAME
    return path, f"sqlite:///{path}"
