"""Artifacts in a local folder per run, written so that no path leaves that folder.

Paths are checked twice: :func:`tracklm._validation.artifact_path` refuses absolute paths and
``..``; here, the real path of the destination's folder must still be inside the run's folder,
which catches symbolic links planted in it. Files are written to a temporary name and renamed,
readable by their owner only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tracklm._errors import InvalidArtifactPath


def ensure_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def resolve_inside(run_dir: Path, relative: str) -> Path:
    """The path of ``relative`` under ``run_dir``, refusing one that escapes through links."""
    ensure_dir(run_dir)
    root = run_dir.resolve()
    target = run_dir / relative
    real_parent = Path(os.path.realpath(target.parent))
    if real_parent != root and root not in real_parent.parents:
        raise InvalidArtifactPath(
            f"The artifact path {relative!r} goes through a link out of the run's folder; "
            "choose another path."
        )
    if target.is_symlink():
        raise InvalidArtifactPath(
            f"The artifact path {relative!r} is a symbolic link in the run's folder; "
            "choose another path."
        )
    return target


def write_bytes(run_dir: Path, relative: str, data: bytes) -> Path:
    """Write ``data`` as the artifact ``relative`` (replacing it atomically)."""
    target = resolve_inside(run_dir, relative)
    ensure_dir(target.parent)
    resolve_inside(run_dir, relative)  # again: the folders now exist and cannot be links
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.replace(tmp, target)
    return target


def copy_in(run_dir: Path, source: Path, relative: str) -> None:
    """Copy a file, or a folder's files, to ``relative`` in the run's folder."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                inner = path.relative_to(source).as_posix()
                copy_in(run_dir, path, f"{relative}/{inner}")
        return
    target = resolve_inside(run_dir, relative)
    ensure_dir(target.parent)
    resolve_inside(run_dir, relative)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)


def list_files(run_dir: Path) -> list[str]:
    """Every artifact file of the run, as relative POSIX paths."""
    if not run_dir.is_dir():
        return []
    return sorted(
        p.relative_to(run_dir).as_posix()
        for p in run_dir.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
