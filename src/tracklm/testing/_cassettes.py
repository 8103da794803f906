"""Recorded interactions: load vcrpy cassettes, and pick the recording for a request."""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ._paths import api_path
from ._reply import Reply
from ._sse import split_events

__all__ = ["CassettePool", "Interaction", "load_cassette"]

# Headers that describe one connection or one encoding of the body length, not the response.
_DROPPED_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Interaction:
    """One recorded request and the response to replay for it."""

    source: str
    method: str
    uri: str
    api_path: str
    request_body: bytes
    reply: Reply

    @cached_property
    def request_json(self) -> Any:
        """The recorded request body parsed as JSON, or its bytes if it is not JSON."""
        return _json_or_bytes(self.request_body)


def load_cassette(path: str | os.PathLike[str]) -> list[Interaction]:
    """The interactions of a vcrpy YAML cassette, in recorded order."""
    path = Path(path)
    data = _yaml_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or not isinstance(data.get("interactions"), list):
        raise ValueError(f"{path} is not a vcrpy cassette: it has no 'interactions' list")
    return [
        _interaction(f"{path.name}#{index}", raw) for index, raw in enumerate(data["interactions"])
    ]


class CassettePool:
    """Loaded interactions, each used once unless ``repeat`` is set; safe across threads."""

    def __init__(self, *, repeat: bool = False) -> None:
        self.repeat = repeat
        self._interactions: list[Interaction] = []
        self._uses: list[int] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._interactions)

    def add(self, interactions: Iterable[Interaction]) -> None:
        """Make more interactions available, after those already loaded."""
        with self._lock:
            for interaction in interactions:
                self._interactions.append(interaction)
                self._uses.append(0)

    def take(self, method: str, path: str, body: bytes) -> Interaction | None:
        """The interaction to answer a request with, marked as used; ``None`` if none fits.

        Candidates have the request's method and API path and are unused (with ``repeat``:
        any). Among them, one whose JSON request body equals ``body`` wins; ties go to the
        least used, then the first recorded.
        """
        wanted = api_path(path)
        incoming = _json_or_bytes(body)
        with self._lock:
            best: tuple[bool, int, int] | None = None
            for index, interaction in enumerate(self._interactions):
                uses = self._uses[index]
                if uses and not self.repeat:
                    continue
                if interaction.method != method.upper() or interaction.api_path != wanted:
                    continue
                same_body = interaction.request_json == incoming
                key = (not same_body, uses, index)
                if best is None or key < best:
                    best = key
            if best is None:
                return None
            self._uses[best[2]] += 1
            return self._interactions[best[2]]

    def available(self) -> list[Interaction]:
        """The interactions a request could still get."""
        with self._lock:
            return [
                interaction
                for interaction, uses in zip(self._interactions, self._uses, strict=True)
                if self.repeat or not uses
            ]


def _yaml_load(text: str) -> Any:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        raise ImportError(
            "tracklm.testing needs PyYAML to read cassettes: pip install pyyaml"
        ) from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def _interaction(source: str, raw: Any) -> Interaction:
    try:
        request, response = raw["request"], raw["response"]
        method, uri = str(request["method"]).upper(), str(request["uri"])
        status = response["status"]
        code, reason = int(status["code"]), status.get("message")
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"interaction {source} lacks a request or response: {error}") from None
    body = _body_bytes(response.get("body"))
    headers = _headers(response.get("headers") or {}, body)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    encoded = any(k.lower() == "content-encoding" for k, _ in headers)
    stream = content_type.lower().startswith("text/event-stream")
    chunks = tuple(split_events(body)) if stream and not encoded else (body,)
    reply = Reply(code, headers, chunks, stream=stream, reason=reason and str(reason))
    return Interaction(source, method, uri, api_path(uri), _body_bytes(request.get("body")), reply)


def _body_bytes(body: Any) -> bytes:
    if isinstance(body, Mapping):
        body = body.get("string")
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    return str(body).encode("utf-8")


def _headers(raw: Mapping[str, Any], body: bytes) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    for name, values in raw.items():
        if name.lower() in _DROPPED_HEADERS:
            continue
        for value in values if isinstance(values, list) else [values]:
            # A body the recorder decompressed must not be announced as compressed.
            if name.lower() == "content-encoding" and not _is_encoded(str(value), body):
                continue
            headers.append((str(name), str(value)))
    return tuple(headers)


def _is_encoded(encoding: str, body: bytes) -> bool:
    if encoding.strip().lower() in ("gzip", "x-gzip"):
        return body.startswith(_GZIP_MAGIC)
    return encoding.strip().lower() != "identity"


def _json_or_bytes(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body
