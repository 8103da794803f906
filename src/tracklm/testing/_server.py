"""`LLMServer`: a local OpenAI-compatible server that replays recordings or echoes."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ._cassettes import CassettePool, load_cassette
from ._echo import ECHO_PATHS, Echo
from ._http import HTTPServer
from ._paths import api_path
from ._reply import Reply, error_reply
from ._requests import RecordedRequest
from ._sse import format_event

__all__ = ["LLMServer"]

PathLike = str | os.PathLike[str]
Body = bytes | str | Mapping[str, Any] | list[Any]
Chunk = bytes | str | Mapping[str, Any]


class LLMServer:
    """An HTTP server on 127.0.0.1 that answers LLM API calls without a network.

    Each request gets, in this order: the next response queued with :meth:`queue_response`;
    else the first unused recorded interaction with its method and API path (see
    :meth:`load_cassette`); else, in echo mode, an echo answer; else a 404 error saying which
    request had no recorded response.

    ``echo=None`` (the default) turns echo mode on when no cassette is loaded. ``repeat``
    lets an interaction answer any number of requests. ``chunk_delay`` and
    ``first_chunk_delay`` (seconds) pace every replayed or echoed stream.
    """

    def __init__(
        self,
        cassettes: PathLike | Iterable[PathLike] | None = None,
        *,
        cassette_dir: PathLike | None = None,
        echo: bool | None = None,
        repeat: bool = False,
        chunk_delay: float = 0.0,
        first_chunk_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.cassette_dir = Path(cassette_dir) if cassette_dir is not None else None
        self.echo = echo
        self.chunk_delay = chunk_delay
        self.first_chunk_delay = first_chunk_delay
        self._address = (host, port)
        self._pool = CassettePool(repeat=repeat)
        self._echo = Echo()
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        if isinstance(cassettes, (str, os.PathLike)):
            cassettes = [cassettes]
        for cassette in cassettes or []:
            self.load_cassette(cassette)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LLMServer:
        """Start serving in a daemon thread; returns the server. Starting twice is an error."""
        if self._httpd is not None:
            raise RuntimeError("LLMServer is already running")
        self._httpd = HTTPServer(self._address, self._respond)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # how long stop() may wait
            name=f"tracklm-llm-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections. Stopping a stopped server does nothing."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close()
        if thread is not None:
            thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._httpd is not None

    @property
    def port(self) -> int:
        """The port the server listens on (chosen by the OS unless one was given)."""
        if self._httpd is None:
            raise RuntimeError("LLMServer is not running: use `with LLMServer() as server:`")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the root URL."""
        return f"http://{self._address[0]}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``url + "/v1"``, the ``base_url`` to give ``openai.OpenAI``."""
        return self.url + "/v1"

    # -- what to answer --------------------------------------------------------------------

    @property
    def repeat(self) -> bool:
        """Whether a recorded interaction can answer more than one request."""
        return self._pool.repeat

    @repeat.setter
    def repeat(self, value: bool) -> None:
        self._pool.repeat = value

    def load_cassette(self, path_or_name: PathLike) -> None:
        """Load the interactions of a vcrpy YAML cassette (after those already loaded).

        ``path_or_name`` is a path, or a name found in ``cassette_dir``; ``.yaml`` may be left
        out. Reading cassettes needs PyYAML.
        """
        self._pool.add(load_cassette(self._find_cassette(path_or_name)))

    def queue_response(
        self,
        status: int = 200,
        body: Body = b"",
        *,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        chunks: Sequence[Chunk] | None = None,
        chunk_delay: float = 0.0,
        first_chunk_delay: float = 0.0,
        cut_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests with this response, before cassettes and echo.

        ``body`` is sent as it is (bytes or text; a dict or list is encoded as JSON) with
        ``Content-Type: application/json`` unless ``headers`` names another. ``chunks`` makes
        a stream instead (``text/event-stream`` by default): each chunk is written and flushed
        on its own; bytes and text go out as they are, a dict as one ``data: <json>`` event.
        ``cut_after=k`` sends k chunks (of ``chunks``, or of the one-chunk ``body``) and then
        closes the connection before the body ends.
        """
        if chunks is not None and body not in (b"", ""):
            raise ValueError("queue_response takes a body or chunks, not both")
        if times < 1:
            raise ValueError("times must be at least 1")
        header_list = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        if chunks is not None:
            pieces = tuple(_chunk_bytes(chunk) for chunk in chunks)
            content_type = "text/event-stream; charset=utf-8"
        else:
            pieces = (_body_bytes(body),)
            content_type = "application/json"
        if not any(name.lower() == "content-type" for name, _ in header_list):
            header_list.insert(0, ("Content-Type", content_type))
        reply = Reply(
            status,
            tuple(header_list),
            pieces,
            stream=chunks is not None,
            chunk_delay=chunk_delay,
            first_chunk_delay=first_chunk_delay,
            cut_after=cut_after,
        )
        with self._lock:
            self._queue.extend([reply] * times)

    # -- what arrived ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._requests.clear()

    # -- internals -------------------------------------------------------------------------

    def _find_cassette(self, path_or_name: PathLike) -> Path:
        given = Path(path_or_name)
        bases = [given]
        if self.cassette_dir is not None and not given.is_absolute():
            bases.append(self.cassette_dir / given)
        candidates = [*bases]
        candidates += [b.with_name(b.name + ".yaml") for b in bases if b.suffix not in _YAML]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        tried = ", ".join(str(c) for c in candidates)
        raise FileNotFoundError(f"no cassette {str(path_or_name)!r}: tried {tried}")

    def _respond(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            queued = self._queue.popleft() if self._queue else None
        if queued is not None:
            return queued
        interaction = self._pool.take(request.method, request.path, request.body)
        if interaction is not None:
            return self._paced(interaction.reply)
        echo = self.echo if self.echo is not None else len(self._pool) == 0
        if echo:
            reply = self._echo.answer(request.method, request.path, request.body)
            if reply is not None:
                return self._paced(reply)
        return self._no_match(request, echo)

    def _paced(self, reply: Reply) -> Reply:
        if not reply.stream or (self.chunk_delay <= 0 and self.first_chunk_delay <= 0):
            return reply
        return dataclasses.replace(
            reply, chunk_delay=self.chunk_delay, first_chunk_delay=self.first_chunk_delay
        )

    def _no_match(self, request: RecordedRequest, echo: bool) -> Reply:
        target = f"{request.method} {request.path}"
        lines = [
            f"tracklm.testing: no recorded response for {target} "
            f"(API path {api_path(request.path)!r})."
        ]
        available = self._pool.available()
        if available:
            listed = ", ".join(f"{i.method} {i.api_path} ({i.source})" for i in available[:10])
            more = f" and {len(available) - 10} more" if len(available) > 10 else ""
            lines.append(f"Recordings not used yet: {listed}{more}.")
        elif len(self._pool):
            lines.append("Every loaded recording is used (pass repeat=True to reuse them).")
        else:
            lines.append("No cassette is loaded.")
        if echo:
            lines.append(f"Echo mode answers POST to: {', '.join(ECHO_PATHS)}.")
        return error_reply(404, " ".join(lines), "tracklm_no_recorded_response", "no_match")

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<LLMServer {where}, {len(self._pool)} recorded interactions>"


_YAML = (".yaml", ".yml")


def _body_bytes(body: Body) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(dict(body) if isinstance(body, Mapping) else body).encode("utf-8")


def _chunk_bytes(chunk: Chunk) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    return format_event(chunk)
