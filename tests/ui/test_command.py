"""``tracklm ui``: it serves the store the CLI names, and says what to do when it cannot."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tracklm._run_manager.records import Batch, CreateExperiment, CreateRun
from tracklm.cli import main
from tracklm.stores import open_store
from tracklm.stores.artifacts import LocalArtifactRepository

from ._data import RealisticStore


@contextmanager
def tracklm_ui(tmp_path: Path, *options: str) -> Iterator[str]:
    """``tracklm [options] ui --port 0`` in a child process; yields the URL it prints."""
    env = {**os.environ, "TRACKLM_JOURNAL_DIR": str(tmp_path / "journal")}
    for name in ("TRACKLM_TRACKING_URI", "TRACKLM_ARTIFACT_ROOT"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tracklm", *options, "ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("tracklm ui: reading sqlite:///")
        second = process.stdout.readline()
        assert second.startswith("Open http://127.0.0.1:")
        yield second.split()[1]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        text: str = answer.read().decode()
        return text


def test_tracklm_ui_serves_the_store_and_prints_where_to_look(
    realistic: RealisticStore, tmp_path: Path
) -> None:
    with tracklm_ui(tmp_path, "--tracking-uri", str(realistic.path)) as url:
        assert "support-bot" in get(url)


def test_tracklm_ui_reads_artifacts_from_the_artifact_root_given(tmp_path: Path) -> None:
    root = tmp_path / "elsewhere"
    store = open_store(str(tmp_path / "store"))
    store.artifacts = LocalArtifactRepository(root)
    run = [CreateExperiment("1", "e", 1), CreateRun("r", "1", "e", "r", 2, {}, None)]
    store.write_batch(Batch(run))
    store.artifacts.write_bytes("1", "r", "notes.txt", b"kept elsewhere")
    store.close()
    options = ("--tracking-uri", str(tmp_path / "store"), "--artifact-root", str(root))
    with tracklm_ui(tmp_path, *options) as url:
        assert get(url + "runs/r/artifacts/notes.txt") == "kept elsewhere"


def test_a_taken_port_is_refused_with_what_to_do(
    realistic: RealisticStore, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code = main(["--tracking-uri", str(realistic.path), "ui", "--port", str(port)])
    assert code == 1
    err = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}" in err
    assert "--port" in err


def test_without_the_ui_extra_the_command_says_how_to_install_it(tmp_path: Path) -> None:
    # the modules the extra brings are made unimportable, as where they are not installed
    script = (
        "import sys\n"
        "for name in ('starlette', 'jinja2', 'uvicorn'): sys.modules[name] = None\n"
        "from tracklm.cli import main\n"
        f"sys.exit(main(['--tracking-uri', {str(tmp_path / 'store')!r}, 'ui']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 1
    assert "tracklm ui needs starlette, jinja2, uvicorn" in done.stderr
    assert "pip install 'tracklm[ui]'" in done.stderr


def test_importing_tracklm_imports_no_web_framework() -> None:
    script = (
        "import sys, tracklm, tracklm.cli, tracklm.ui\n"
        "print(sorted(m for m in ('starlette', 'jinja2', 'uvicorn') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
