"""Tracking URIs: which store one names, its normalized form, and its form for people.

A PostgreSQL URI may hold a password. It is kept only where a connection needs it: what is
shown (``describe()``, errors, the CLI), logged, or used as a key on disk (the journal folder)
is the URI with the password masked or removed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from tracklm._errors import InvalidTrackingUri

DEFAULT_TRACKING_DIR: Final = "tracklm-runs"
DB_NAME: Final = "tracklm.db"
POSTGRES_SCHEMES: Final = ("postgresql", "postgres", "postgresql+psycopg")
MLFLOW_SCHEMES: Final = ("mlflow+http", "mlflow+https")
SUPPORTED: Final = (
    "a folder path, file:///folder, sqlite:///path/to/file.db, "
    "postgresql://user:password@host:5432/database, or mlflow+http://host:5000 (an MLflow "
    "tracking server)"
)
_MASK: Final = "***"
_SECRET_PARAMS: Final = frozenset({"password", "sslpassword"})


@dataclass(frozen=True)
class StoreAddress:
    """What a tracking URI names: ``kind``, the normalized ``uri``, and the SQLite ``path``."""

    kind: Literal["sqlite", "postgres", "mlflow"]
    uri: str
    path: Path | None = None


def parse(uri: str | os.PathLike[str] | None) -> StoreAddress:
    """The store a tracking URI names (the default folder when ``uri`` is None or blank)."""
    text = os.fspath(uri) if uri is not None else ""
    text = text.strip() or DEFAULT_TRACKING_DIR
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in POSTGRES_SCHEMES:
        return StoreAddress("postgres", "postgresql://" + text.split("://", 1)[1])
    if scheme in MLFLOW_SCHEMES:
        rest = text.split("://", 1)[1]
        where, mark, query = rest.partition("?")
        return StoreAddress("mlflow", f"{scheme}://{where.rstrip('/')}{mark}{query}")
    parsed = urlsplit(text)
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
            f"Tracking URI {mask_password(text)!r} has the scheme {parsed.scheme!r}, which "
            f"tracklm does not know. Use {SUPPORTED}."
        )
    else:
        path = Path(text).expanduser().absolute() / DB_NAME
    return StoreAddress("sqlite", f"sqlite:///{path}", path)


def mask_password(uri: str) -> str:
    """``uri`` with its password (in the user part or the query) shown as ``***``."""
    return _rewrite(uri, mask=True)


def without_password(uri: str) -> str:
    """``uri`` with its password left out: the same store, nothing secret."""
    return _rewrite(uri, mask=False)


def password_of(uri: str) -> str | None:
    """The password a URI holds, to keep it out of messages, or None."""
    if "://" not in uri:
        return None
    parts = urlsplit(uri)
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        return unquote(userinfo.split(":", 1)[1])
    for key, value in parse_qsl(parts.query):
        if key in _SECRET_PARAMS:
            return value
    return None


def redact(text: str, uri: str) -> str:
    """``text`` (an error message) with the URI's password masked wherever it appears."""
    secret = password_of(uri)
    if secret:
        for form in {secret, re.sub(r"[^A-Za-z0-9._~-]", lambda m: f"%{ord(m[0]):02X}", secret)}:
            text = text.replace(form, _MASK)
    return text


def _rewrite(uri: str, *, mask: bool) -> str:
    if "://" not in uri:
        return uri
    parts = urlsplit(uri)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{_MASK}@{hosts}" if mask else f"{user}@{hosts}"
    query = parts.query
    if query and any(k in _SECRET_PARAMS for k, _ in parse_qsl(query)):
        pairs = [
            (k, _MASK) if k in _SECRET_PARAMS else (k, v)
            for k, v in parse_qsl(query, keep_blank_values=True)
            if mask or k not in _SECRET_PARAMS
        ]
        query = urlencode(pairs, safe="*")
    if netloc == parts.netloc and query == parts.query:
        return uri  # nothing secret: as given (urlunsplit would respell sqlite:////abs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
