"""Checks on what users log: keys, values and artifact paths.

They run on the caller's thread, so each is a few dictionary or regex operations; keys already
seen are remembered, since the same few keys are logged again and again.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Final

from tracklm._errors import InvalidArtifactPath, InvalidKey, InvalidValue

MAX_KEY_LENGTH: Final = 250
MAX_PARAM_VALUE_LENGTH: Final = 6000
MAX_TAG_VALUE_LENGTH: Final = 8000
MAX_PATH_PART_BYTES: Final = 200
"""Longest file or folder name in an artifact path: 255 bytes is the usual limit of file
systems, and files are written under a temporary name a little longer."""

_KEY_RE: Final = re.compile(r"[\w\-./: ]+")
_known_keys: set[str] = set()
_KNOWN_KEYS_CAP: Final = 100_000


def check_key(key: object, what: str) -> str:
    """Return ``key`` if it is a valid key for a param, metric, tag or table column."""
    if not isinstance(key, str):  # first: an unhashable key must not reach the set below
        raise InvalidKey(
            f"{what} key must be a string, got {type(key).__name__} {key!r}; pass str(key)."
        )
    if key in _known_keys:
        return key
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY_RE.fullmatch(key):
        raise InvalidKey(
            f"Invalid {what} key {key!r}: use 1 to {MAX_KEY_LENGTH} characters among letters, "
            "digits, '_', '-', '.', '/', ':' and spaces."
        )
    if key.strip() != key or "//" in key or key.startswith("/"):
        raise InvalidKey(
            f"Invalid {what} key {key!r}: it may not start with '/', contain '//', or start "
            "or end with a space."
        )
    if len(_known_keys) < _KNOWN_KEYS_CAP:
        _known_keys.add(key)
    return key


def known_keys() -> set[str]:
    """The keys that passed :func:`check_key` (up to a cap): a key in it needs no check."""
    return _known_keys


def param_value(key: str, value: object) -> str:
    """Return the string a param value is stored as, checking its length."""
    text = value if isinstance(value, str) else _text("Param", key, value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidValue(
            f"Param {key!r} has a value of {len(text)} characters; the limit is "
            f"{MAX_PARAM_VALUE_LENGTH}. Log long text with tracklm.log_text() instead."
        )
    return _storable("Param", key, text)


def tag_value(key: str, value: object) -> str:
    """Return the string a tag value is stored as, checking its length."""
    text = value if isinstance(value, str) else _text("Tag", key, value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidValue(
            f"Tag {key!r} has a value of {len(text)} characters; the limit is "
            f"{MAX_TAG_VALUE_LENGTH}. Log long text with tracklm.log_text() instead."
        )
    return _storable("Tag", key, text)


def _text(what: str, key: str, value: object) -> str:
    try:
        return str(value)
    except Exception as exc:
        raise InvalidValue(
            f"{what} {key!r}: str() of the {type(value).__name__} given failed ({exc!r}); "
            "pass the text to log."
        ) from exc


def _storable(what: str, key: str, text: str) -> str:
    """Refuse text that cannot be encoded as UTF-8 (lone surrogates): the store could not
    write it, and it would hold up every record written with it."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError as exc:
            raise InvalidValue(
                f"{what} {key!r} holds a lone surrogate {text[exc.start]!r} at position "
                f"{exc.start}, which is not valid Unicode text and cannot be stored; fix the "
                "text, e.g. text.encode('utf-8', 'replace').decode()."
            ) from None
    return text


def metric_value(key: str, value: Any) -> float:
    """Return a metric value as a float; bools and non-numbers are refused."""
    if type(value) is float:  # the common case, first
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # numpy bools are not numbers.Real, so they are refused here too
        raise InvalidValue(
            f"Metric {key!r} must be a number, got {type(value).__name__} {value!r}. "
            "Log labels as tags or params, and booleans as 0 or 1."
        )
    try:
        return float(value)
    except OverflowError:
        raise InvalidValue(
            f"Metric {key!r} is too large for a float (a 64-bit double): {value!r}."
        ) from None


def metric_step(step: object) -> int:
    """Return a metric step as an int (0 when not given)."""
    if step is None:
        return 0
    if type(step) is int:  # the common case, first: the ABC check below costs microseconds
        return _int64("step", step, step)
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidValue(f"Metric step must be an integer, got {step!r}.")
    return _int64("step", int(step), step)


def metric_timestamp(timestamp: object) -> int | None:
    """Return a metric timestamp (ms since the epoch) as an int, or None for now."""
    if timestamp is None:
        return None
    if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Real):
        raise InvalidValue(
            f"Metric timestamp must be milliseconds since the epoch, got {timestamp!r}."
        )
    try:
        number = float(timestamp)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidValue(f"Metric timestamp must be finite, got {timestamp!r}.")
    return _int64("timestamp", int(number), timestamp)


def _int64(what: str, number: int, given: object) -> int:
    # what a database's integer column holds; a larger one could not be stored
    if not -(2**63) <= number < 2**63:
        raise InvalidValue(f"Metric {what} must fit in 64 bits, got {given!r}.")
    return number


def artifact_path(path: object, what: str = "artifact path") -> str:
    """Return ``path`` as a normalized relative POSIX path that stays inside a run's folder.

    Absolute paths (POSIX or Windows, drive letters and UNC), ``..`` parts, backslashes and
    NUL bytes are refused; links are checked where the file is written.
    """
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path.strip():
        raise InvalidArtifactPath(f"The {what} must be a non-empty string, got {path!r}.")
    fix = "Give a relative path inside the run's artifacts, like 'tables/predictions.csv'."
    if "\x00" in path or "\\" in path:
        raise InvalidArtifactPath(f"The {what} {path!r} holds a NUL byte or a backslash. {fix}")
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).drive:
        raise InvalidArtifactPath(f"The {what} {path!r} is absolute. {fix}")
    parts = [p for p in PurePosixPath(path).parts if p != "."]
    if ".." in parts:
        raise InvalidArtifactPath(f"The {what} {path!r} leaves the run's folder. {fix}")
    if not parts:
        raise InvalidArtifactPath(f"The {what} {path!r} names no file. {fix}")
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_PATH_PART_BYTES for part in parts):
        raise InvalidArtifactPath(
            f"The {what} {path!r} has a part longer than {MAX_PATH_PART_BYTES} bytes, more than "
            f"file systems take in one name. {fix}"
        )
    return "/".join(parts)


def artifact_dir(path: object) -> str | None:
    """Like :func:`artifact_path` for a destination folder, where None or '' means the root."""
    if path is None or path == "":
        return None
    return artifact_path(path, "artifact folder")
