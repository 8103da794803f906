"""Artifacts in a folder on this machine, or on a path every machine mounts (NFS, SMB).

No path leaves the run's folder: :func:`tracklm._validation.artifact_path` refuses absolute
paths and ``..``, and here the real path of the destination's folder must still be inside the
run's folder, which catches symbolic links planted in it. Files are written to a temporary
name and renamed (readers see the old file or the new, never half), readable by their owner
only. A table's file is appended to in place: an append costs what it appends
(:mod:`tracklm.stores._table_files`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from tracklm._errors import InvalidArtifactPath
from tracklm._files import private_dirs
from tracklm.stores import _table_files
from tracklm.stores.artifacts.base import ArtifactRepository, TableUpdate


class LocalArtifactRepository(ArtifactRepository):
    """Run folders under ``root``: ``<root>/<experiment_id>/<run_id>/artifacts/``."""

    def __init__(self, root: Path) -> None:
        self.path = root.expanduser().absolute()
        self.root = str(self.path)

    def run_dir(self, experiment_id: str, run_id: str) -> Path:
        return self.path / experiment_id / run_id / "artifacts"

    def local_dir(self, experiment_id: str, run_id: str) -> Path:
        return self.run_dir(experiment_id, run_id)

    def experiment_uri(self, experiment_id: str) -> str:
        return (self.path / experiment_id).as_uri()

    def run_uri(self, experiment_id: str, run_id: str) -> str:
        return self.run_dir(experiment_id, run_id).as_uri()

    def check_path(self, experiment_id: str, run_id: str, relative: str) -> None:
        resolve_inside(self.run_dir(experiment_id, run_id), relative)

    def write_bytes(self, experiment_id: str, run_id: str, relative: str, data: bytes) -> None:
        target = _prepare(self.run_dir(experiment_id, run_id), relative)
        tmp = _tmp_name(target)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, target)

    def copy_file(self, experiment_id: str, run_id: str, source: Path, relative: str) -> None:
        target = _prepare(self.run_dir(experiment_id, run_id), relative)
        tmp = _tmp_name(target)
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)

    def read_bytes(self, experiment_id: str, run_id: str, relative: str) -> bytes:
        run_dir = self.run_dir(experiment_id, run_id)
        if run_dir.is_dir():
            resolve_inside(run_dir, relative)  # refuse a link out of the run's folder
        return (run_dir / relative).read_bytes()

    def list_files(self, experiment_id: str, run_id: str) -> list[str]:
        run_dir = self.run_dir(experiment_id, run_id)
        if not run_dir.is_dir():
            return []
        return sorted(
            p.relative_to(run_dir).as_posix()
            for p in run_dir.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def write_table(self, experiment_id: str, run_id: str, update: TableUpdate) -> int:
        # again at each write: a link planted since the table was first logged must not
        # carry its rows out of the run's folder (and _table_files opens with O_NOFOLLOW)
        path = resolve_inside(self.run_dir(experiment_id, run_id), update.artifact_file)
        return _table_files.write_rows(
            path,
            update.artifact_file,
            columns=update.columns,
            columns_changed=update.columns_changed,
            rows=update.rows,
            rows_before=update.rows_before,
            size_before=update.size_before,
            all_rows=update.all_rows,
        )


def ensure_dir(path: Path) -> None:
    private_dirs(path)


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
    existing = real_parent
    while not existing.exists():  # the nearest part that exists must be a folder
        existing = existing.parent
    if target.is_dir() or not existing.is_dir():
        raise InvalidArtifactPath(
            f"The artifact path {relative!r} collides with what the run's folder holds (a "
            "folder where the file goes, or a file where a folder goes); choose another path."
        )
    return target


def _prepare(run_dir: Path, relative: str) -> Path:
    """The checked destination of ``relative``, its folders made."""
    target = resolve_inside(run_dir, relative)
    ensure_dir(target.parent)
    resolve_inside(run_dir, relative)  # again: the folders now exist and cannot be links
    return target


def _tmp_name(target: Path) -> Path:
    # unique across threads, processes and the machines that share the folder
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
