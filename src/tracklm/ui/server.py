"""Serving the web app with uvicorn, on a socket bound before anything is printed."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Final

import uvicorn

from tracklm.stores.base import Store
from tracklm.ui import UIUnavailable
from tracklm.ui.app import create_app

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "UIServer"]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 5731

logger = logging.getLogger("tracklm.ui")


class UIServer:
    """The web app over ``store``, listening on ``host:port`` (port 0: any free port).

    The socket is bound when the object is made, so a taken port fails here, with a message,
    and :attr:`url` is known before :meth:`run` starts serving.
    """

    def __init__(self, store: Store, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.store = store
        self.host = host
        self._socket = _bind(host, port)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            create_app(store, host=host),
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where to point a browser."""
        shown = self.host
        if shown in ("0.0.0.0", "::", ""):
            shown = "127.0.0.1"
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}/"

    def run(self) -> None:
        """Serve until interrupted (Ctrl+C)."""
        logger.info("serving %s at %s", self.store.uri, self.url)
        self._server.run(sockets=[self._socket])

    def start(self) -> None:
        """Serve from a background thread (for tests and scripts); :meth:`stop` ends it."""
        self._thread = threading.Thread(target=self.run, name="tracklm-ui", daemon=True)
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            self._thread.join(0.01)

    def stop(self) -> None:
        """Stop serving and wait for the thread of :meth:`start`."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: a response's head and body go out at once, instead of
    # the body waiting for the browser's delayed acknowledgement of the head (~40 ms)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UIUnavailable(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port with "
            "--port, or stop what uses it."
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
