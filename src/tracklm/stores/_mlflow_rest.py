"""The MLflow tracking server's REST API over the standard library's ``http.client``.

Each thread keeps one keep-alive connection to the server; every request has a timeout
(:attr:`RestClient.TIMEOUT`, for the connection and for each read). Failures are sorted in two:

- :class:`ServerUnavailable`: the server may take the request later — it cannot be reached,
  timed out, answered 5xx, 429 or 408, refused the credentials (401/403, which an operator
  can fix), or is not an MLflow server at that address (a 404 that is not MLflow's);
- :class:`RequestRefused`: MLflow answered 4xx about the request itself (a value it refuses, a
  run that does not exist); sending it again cannot help.

Credentials come from the URI's user part or from ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD`` (Basic), else ``MLFLOW_TRACKING_TOKEN`` (Bearer), as MLflow's own
clients read them; TLS follows ``MLFLOW_TRACKING_INSECURE_TLS``,
``MLFLOW_TRACKING_SERVER_CERT_PATH`` and ``MLFLOW_TRACKING_CLIENT_CERT_PATH``. The header is
kept in this object only: never in a message, a log line or ``repr``.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Final
from urllib.parse import quote, unquote, urlencode, urlsplit

API: Final = "/api/2.0/mlflow/"
ARTIFACTS: Final = "/api/2.0/mlflow-artifacts/artifacts"
WORKSPACE_HEADER: Final = "X-MLflow-Workspace"
_TRANSIENT_STATUS: Final = frozenset({408, 429, 401, 403})
_IDLE_REUSE_S: Final = 4.0
"""A kept-alive connection idle longer than this is replaced before use: servers close idle
connections (uvicorn after 5 s), and a request sent on one that is closing may be lost."""


class RestError(Exception):
    """A request to the MLflow server failed; ``status`` and MLflow's ``code`` say how."""

    def __init__(self, message: str, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ServerUnavailable(RestError):
    """The server cannot take the request now; it may later."""


class RequestRefused(RestError):
    """The server refused the request itself (MLflow's 4xx)."""


@dataclass(frozen=True)
class Server:
    """Where an MLflow server is: nothing secret in it."""

    scheme: str
    """``http`` or ``https``."""
    host: str
    port: int
    prefix: str
    """The path the server is mounted under (``""`` at the root)."""
    workspace: str | None = None
    """The MLflow workspace every request is scoped to (``?workspace=`` in the URI)."""

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.prefix}"


def parse_server(uri: str) -> tuple[Server, tuple[str, str] | None]:
    """The server an ``mlflow+http(s)://`` URI names, and the URI's (user, password) if any."""
    parts = urlsplit(uri.split("+", 1)[1] if uri.lower().startswith("mlflow+") else uri)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an MLflow tracking URI is mlflow+http://host:port or mlflow+https://...")
    port = parts.port or (443 if scheme == "https" else 80)
    workspace = None
    for item in parts.query.split("&") if parts.query else []:
        key, _, value = item.partition("=")
        if key == "workspace" and value:
            workspace = unquote(value)
        elif key:
            raise ValueError(f"the query parameter {key!r} means nothing here (only workspace=)")
    login = None
    if parts.username is not None:
        login = (unquote(parts.username), unquote(parts.password or ""))
    prefix = parts.path.rstrip("/")
    return Server(scheme, parts.hostname, port, prefix, workspace), login


def authorization(login: tuple[str, str] | None, env: Mapping[str, str]) -> str | None:
    """The ``Authorization`` header MLflow's clients would send, or None."""
    user, password = login or (
        env.get("MLFLOW_TRACKING_USERNAME", ""),
        env.get("MLFLOW_TRACKING_PASSWORD", ""),
    )
    if user and password:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    token = env.get("MLFLOW_TRACKING_TOKEN")
    return f"Bearer {token}" if token else None


def _tls_context(env: Mapping[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=env.get("MLFLOW_TRACKING_SERVER_CERT_PATH"))
    if env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("1", "true"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    client_cert = env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH")
    if client_cert:
        context.load_cert_chain(client_cert)
    return context


class _Conn:
    """One thread's connection and when it was last used."""

    __slots__ = ("http", "pid", "used")

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self.http = conn
        self.pid = os.getpid()
        self.used = time.monotonic()


class RestClient:
    """Requests to one MLflow server, a keep-alive connection per thread."""

    TIMEOUT = 10.0
    """Seconds allowed to connect, and for each read of an answer."""

    def __init__(self, server: Server, auth: str | None, env: Mapping[str, str]) -> None:
        self.server = server
        self.__auth = auth  # name-mangled: kept out of vars() dumps by accident
        self._tls = _tls_context(env) if server.scheme == "https" else None
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"RestClient({self.server.base_url!r})"

    # -- MLflow's JSON API -------------------------------------------------------------------

    def call(
        self,
        method: str,
        name: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        *,
        retry: bool = True,
    ) -> dict[str, Any]:
        """``/api/2.0/mlflow/<name>``: the answer's JSON. ``retry``: the request may be sent
        again on a fresh connection if a kept-alive one turns out closed (it is idempotent)."""
        path = API + name + (f"?{urlencode(query, doseq=True)}" if query else "")
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        status, answer = self._request(method, path, data, headers, retry=retry)
        if status >= 300:
            raise self._error(status, answer, f"{method} {name}")
        try:
            parsed: dict[str, Any] = json.loads(answer) if answer.strip() else {}
        except ValueError:
            raise ServerUnavailable(
                f"{self.server.base_url} answered {method} {name} with something other than "
                "JSON; is it an MLflow tracking server?",
                status,
            ) from None
        return parsed

    # -- the artifact proxy (mlflow-artifacts) -----------------------------------------------

    def put_artifact(self, path: str, data: bytes | BinaryIO, size: int) -> None:
        """Upload a file to ``path`` under the server's artifact root (replacing it)."""
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        rewind = data.tell() if not isinstance(data, bytes) else None
        status, answer = self._request(
            "PUT", self._artifact_path(path), data, headers, retry=True, rewind=rewind
        )
        if status >= 300:
            raise self._error(status, answer, f"upload of {path}")

    def get_artifact(self, path: str) -> bytes | None:
        """A file's content, or None if there is none."""
        status, answer = self._request("GET", self._artifact_path(path), None, {}, retry=True)
        if status == 404:
            return None
        if status >= 300:
            raise self._error(status, answer, f"download of {path}")
        return answer

    def list_artifacts(self, path: str) -> list[tuple[str, bool, int]]:
        """(name, is_dir, size) of what a folder holds (nothing for a missing folder)."""
        url = f"{ARTIFACTS}?{urlencode({'path': path})}"
        status, answer = self._request("GET", url, None, {}, retry=True)
        if status >= 300:
            raise self._error(status, answer, f"listing of {path}")
        files = json.loads(answer or b"{}").get("files", [])
        return [(f["path"], bool(f.get("is_dir")), int(f.get("file_size") or 0)) for f in files]

    def delete_artifact(self, path: str) -> None:
        status, answer = self._request("DELETE", self._artifact_path(path), None, {}, retry=True)
        if status >= 300 and status != 404:
            raise self._error(status, answer, f"deletion of {path}")

    def _artifact_path(self, path: str) -> str:
        return f"{ARTIFACTS}/{quote(path.lstrip('/'), safe='/')}"

    # -- transport ---------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | BinaryIO | None,
        headers: dict[str, str],
        *,
        retry: bool,
        rewind: int | None = None,
    ) -> tuple[int, bytes]:
        headers = {**headers, "Accept": "application/json", "User-Agent": "tracklm"}
        if self.__auth:
            headers["Authorization"] = self.__auth
        if self.server.workspace:
            headers[WORKSPACE_HEADER] = self.server.workspace
        url = self.server.prefix + path
        conn, reused = self._connection()
        try:
            return self._exchange(conn, method, url, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            self._drop(conn)
            if not (reused and retry):
                raise self._unreachable(exc) from exc
            if rewind is not None and not isinstance(body, bytes) and body is not None:
                body.seek(rewind)
        except (OSError, http.client.HTTPException) as exc:
            self._drop(conn)
            raise self._unreachable(exc) from exc
        conn, _ = self._connection()  # the kept-alive connection had been closed: once more
        try:
            return self._exchange(conn, method, url, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self._drop(conn)
            raise self._unreachable(exc) from exc

    def _exchange(
        self,
        conn: _Conn,
        method: str,
        url: str,
        body: bytes | BinaryIO | None,
        headers: dict[str, str],
    ) -> tuple[int, bytes]:
        conn.http.request(method, url, body=body, headers=headers)
        response = conn.http.getresponse()
        data = response.read()
        conn.used = time.monotonic()
        if response.will_close:
            self._drop(conn)
        return response.status, data

    def _connection(self) -> tuple[_Conn, bool]:
        """This thread's connection, and whether it was used before."""
        conn: _Conn | None = getattr(self._local, "conn", None)
        if conn is not None and conn.pid != os.getpid():
            conn = None  # a forked child never uses (nor closes) its parent's socket
        if conn is not None and (time.monotonic() - conn.used > _IDLE_REUSE_S or _closed(conn)):
            self._drop(conn)
            conn = None
        if conn is not None:
            return conn, True
        server = self.server
        if self._tls is not None:
            raw: http.client.HTTPConnection = http.client.HTTPSConnection(
                server.host, server.port, timeout=self.TIMEOUT, context=self._tls
            )
        else:
            raw = http.client.HTTPConnection(server.host, server.port, timeout=self.TIMEOUT)
        conn = _Conn(raw)
        self._local.conn = conn
        return conn, False

    def _drop(self, conn: _Conn) -> None:
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        if conn.pid == os.getpid():
            conn.http.close()

    def forget_connections(self) -> None:
        """In a forked child: connections of the parent are left to the parent."""
        self._local = threading.local()

    def close(self) -> None:
        conn: _Conn | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._drop(conn)

    def _unreachable(self, exc: BaseException) -> ServerUnavailable:
        what = "timed out" if isinstance(exc, (socket.timeout, TimeoutError)) else repr(exc)
        return ServerUnavailable(f"cannot reach the MLflow server {self.server.base_url}: {what}")

    def _error(self, status: int, answer: bytes, what: str) -> RestError:
        try:
            detail = json.loads(answer)
        except ValueError:
            detail = None
        if not isinstance(detail, dict):
            detail = {}
        code = str(detail.get("error_code") or "")
        message = str(detail.get("message") or answer[:200].decode("utf-8", "replace").strip())
        text = f"the MLflow server {self.server.base_url} refused {what} ({status} {code}): "
        text += message
        if status >= 500 or status in _TRANSIENT_STATUS:
            return ServerUnavailable(text, status, code)
        if status == 404 and not code:
            # not MLflow's "does not exist": the address is not an MLflow server (yet)
            return ServerUnavailable(
                text + "; is the URI's host, port and path those of an MLflow server, started "
                "with --serve-artifacts?",
                status,
            )
        return RequestRefused(text, status, code)


def _closed(conn: _Conn) -> bool:
    """Whether the server closed a kept-alive connection (it is readable: EOF)."""
    sock = conn.http.sock
    if sock is None:
        return False  # not connected yet
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
