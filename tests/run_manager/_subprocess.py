"""Run Python snippets in fresh processes that use the test's store and journal."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def env_for(store: Path, journal: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TRACKLM_TRACKING_URI=str(store),
        TRACKLM_JOURNAL_DIR=str(journal),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def start(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(code: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result


HOLD_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
if sys.argv[2:] == ["readers-too"]:  # no WAL sharing: readers are locked out as well
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()  # hold the lock until the test writes a line
conn.execute("ROLLBACK")
"""


class LockHolder:
    """Another process that runs ``script`` with ``args``, prints ``locked`` once it holds its
    lock, and keeps it until :meth:`release`."""

    def __init__(self, script: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=30) == 0


class WriteLockHolder(LockHolder):
    """Another process holding SQLite's write lock on a database until released.

    ``readers_too``: in SQLite's exclusive locking mode, which locks out readers as well; it
    can only be taken while no other process has the database open.
    """

    def __init__(self, db: Path, readers_too: bool = False) -> None:
        mode = ["readers-too"] if readers_too else []
        super().__init__(HOLD_WRITE_LOCK, str(db), *mode)
