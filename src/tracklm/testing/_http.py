"""The HTTP layer: read each request, hand it to the app, write the reply it gets back."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ._reply import Reply
from ._requests import RecordedRequest

__all__ = ["HTTPServer"]

Respond = Callable[[RecordedRequest], Reply]
_DISCONNECTS = (BrokenPipeError, ConnectionAbortedError, ConnectionResetError)


class HTTPServer(ThreadingHTTPServer):
    """A threading HTTP/1.1 server that answers every request with ``respond(request)``.

    It tracks its open connections so that :meth:`close` can end them, including idle
    keep-alive connections and streams still being written.
    """

    daemon_threads = True
    request_queue_size = 128  # many clients may connect at once; the default backlog is 5

    def __init__(self, address: tuple[str, int], respond: Respond) -> None:
        self.respond = respond
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up is normal in tests; anything else is worth a traceback.
        if not isinstance(sys.exc_info()[1], (*_DISCONNECTS, TimeoutError)):
            super().handle_error(request, client_address)

    def close(self) -> None:
        """Stop accepting, end open connections and release the port."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # holds the body until the client's delayed ACK, 40 ms a response
    disable_nagle_algorithm = True
    server: HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _handle(self) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        request = RecordedRequest(
            method=self.command,
            path=url.path,
            query=MappingProxyType(dict(parse_qsl(url.query, keep_blank_values=True))),
            headers=MappingProxyType(headers),
            body=body,
        )
        try:
            self._send(self.server.respond(request))
        except _DISCONNECTS:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        chunked = reply.stream or reply.cut_after is not None
        self.send_response_only(reply.status, reply.reason)
        for name, value in reply.headers:
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if not chunked:
            self.wfile.write(reply.body)
            return
        for index, chunk in enumerate(reply.chunks):
            if reply.cut_after is not None and index >= reply.cut_after:
                break
            delay = reply.first_chunk_delay if index == 0 else reply.chunk_delay
            if delay > 0:
                time.sleep(delay)
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        if reply.cut_after is not None:
            self._cut()
            return
        self.wfile.write(b"0\r\n\r\n")

    def _cut(self) -> None:
        """Close the connection in the middle of the body, as a failing server would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
