"""A real ``mlflow server`` for the tests: one per test session, started on first use.

It keeps its runs in a SQLite file and serves artifacts (``--serve-artifacts``) from a folder,
both in a temporary folder; workspaces are on, so that each contract test gets an empty
workspace of its own (as each PostgreSQL test gets a schema). The tests that read back with
MLflow's own client use the default workspace, with experiment names of their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

STARTUP_TIMEOUT = 180.0
"""Seconds the server may take to answer /health (it imports MLflow twice; slow on a busy
machine)."""


class MLflowServer:
    """``mlflow server`` in a process group of its own, stopped and started on one port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = folder / "server.log"

    def start(self) -> None:
        env = {
            **os.environ,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            # no job runner: it would start seven more processes that the tests never use
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_WORKSPACE"):
            env.pop(name, None)
        command = [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--backend-store-uri",
            f"sqlite:///{self.folder / 'mlflow.db'}",
            "--serve-artifacts",
            "--artifacts-destination",
            str(self.folder / "artifacts"),
            "--workers",
            "1",
            "--enable-workspaces",
        ]
        log = open(self._log, "ab")  # noqa: SIM115 - the server's output, kept for failures
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{self.log_tail()}")
            if self.healthy():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"mlflow server did not answer within {STARTUP_TIMEOUT} s")

    def stop(self) -> None:
        """Terminate the server and the uvicorn process it started; wait until they are gone."""
        process = self._process
        if process is None:
            return
        self._process = None
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        deadline = time.monotonic() + 20
        while self.port_in_use() and time.monotonic() < deadline:  # uvicorn's child too
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):  # anything of the group still alive
            os.killpg(process.pid, signal.SIGKILL)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def port_in_use(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def new_workspace(self) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        request = urllib.request.Request(
            f"{self.url}/api/3.0/mlflow/workspaces",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30):
            pass
        return name

    def log_tail(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def mlflow_server() -> Iterator[MLflowServer]:
    """The session's MLflow server (started on first use, stopped at the end)."""
    folder = Path(tempfile.mkdtemp(prefix="tracklm-mlflow-"))
    server = MLflowServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mlflow_uri(mlflow_server: MLflowServer) -> str:
    """A tracking URI for an empty workspace on the session's MLflow server."""
    if not mlflow_server.healthy():  # a test stopped it: bring it back for the next ones
        mlflow_server.start()
    return f"mlflow+{mlflow_server.url}?workspace={mlflow_server.new_workspace()}"
