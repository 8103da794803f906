"""Making a store read-only under a running app, for a while.

Root (as in CI) ignores file modes, so there the files are made immutable with ``chattr +i``
(ext4, xfs, btrfs); other users get ``chmod a-w``. SQLite's ``-shm`` file is left writable:
every connection maps it into memory, and a mapped file made immutable kills the process with
SIGBUS at its next write - any process using the database in WAL mode, the ``sqlite3`` shell
as much as tracklm - which no library can catch. A folder made read-only with its database
and write-ahead log is what this covers.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

AS_ROOT = os.geteuid() == 0


def can_freeze(scratch: Path) -> bool:
    """Whether this machine can make a file read-only for this process (a probe)."""
    if not AS_ROOT:
        return True
    if shutil.which("chattr") is None:
        return False
    probe = scratch / "freeze-probe"
    probe.write_text("x")
    done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, check=False)
    try:
        if done.returncode != 0:
            return False
        try:
            with open(probe, "a") as handle:
                handle.write("y")
        except PermissionError:
            return True
        return False
    finally:
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True, check=False)
        probe.unlink()


@pytest.fixture
def freezable(tmp_path: Path) -> None:
    if not can_freeze(tmp_path):
        pytest.skip("running as root without chattr +i support: root ignores file modes")


def tree(folder: Path) -> list[Path]:
    """``folder`` and everything in it, except SQLite's shared-memory file (see above)."""
    inside = [p for p in folder.rglob("*") if not p.name.endswith("-shm")]
    return [folder, *inside]


@contextmanager
def read_only(paths: list[Path]) -> Iterator[None]:
    """Make ``paths`` (files and folders) read-only for the block."""
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in paths}
    _set(paths, frozen=True, modes=modes)
    try:
        yield
    finally:
        _set(paths, frozen=False, modes=modes)


def _set(paths: list[Path], frozen: bool, modes: dict[Path, int]) -> None:
    if AS_ROOT:
        flag = "+i" if frozen else "-i"
        subprocess.run(["chattr", flag, *map(str, paths)], check=True)
        return
    for path in paths:
        os.chmod(path, modes[path] & ~0o222 if frozen else modes[path])
