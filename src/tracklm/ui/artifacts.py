"""Reading a run's artifact files for download, never a file outside the run's folder.

A path is served only if it is a relative path without ``..`` (:func:`artifact_path`), the
run's listing holds it, and, in a local folder, its real path (links resolved) is inside the
run's real folder; the file is then opened without following a link.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from tracklm._errors import InvalidArtifactPath
from tracklm._validation import artifact_path
from tracklm.entities import Run
from tracklm.stores.base import Store

__all__ = [
    "PREVIEW_BYTES",
    "TEXT_SUFFIXES",
    "ArtifactRefused",
    "is_text",
    "open_artifact",
    "preview",
]

PREVIEW_BYTES: Final = 256 * 1024
TEXT_SUFFIXES: Final = frozenset(
    {".txt", ".json", ".jsonl", ".md", ".csv", ".yaml", ".yml", ".log", ".py", ".html", ".xml"}
)
_CHUNK: Final = 64 * 1024


class ArtifactRefused(LookupError):
    """The path names no artifact of the run that may be served."""


def open_artifact(store: Store, run: Run, path: str) -> Iterator[bytes]:
    """The content of the run's artifact ``path``, in chunks; raises ArtifactRefused."""
    experiment_id, run_id = run.info.experiment_id, run.info.run_id
    try:
        relative = artifact_path(path)
    except InvalidArtifactPath as exc:
        raise ArtifactRefused(str(exc)) from None
    if relative not in store.artifacts.list_files(experiment_id, run_id):
        raise ArtifactRefused(f"Run {run_id} has no artifact {relative!r}.")
    folder = store.artifacts.local_dir(experiment_id, run_id)
    if folder is None:  # an object store: no links to follow out of it
        return iter([store.artifacts.read_bytes(experiment_id, run_id, relative)])
    return _read_local(_inside(folder, relative))


def preview(store: Store, run: Run, path: str) -> tuple[str, bool]:
    """The start of a text artifact as text, and whether it was cut."""
    data = b""
    for chunk in open_artifact(store, run, path):
        data += chunk
        if len(data) > PREVIEW_BYTES:
            break
    return data[:PREVIEW_BYTES].decode("utf-8", "replace"), len(data) > PREVIEW_BYTES


def is_text(path: str) -> bool:
    """Whether the artifact is shown as text in the page rather than only downloaded."""
    return Path(path).suffix.lower() in TEXT_SUFFIXES


def _inside(folder: Path, relative: str) -> Path:
    root = folder.resolve()
    target = (folder / relative).resolve()
    if root not in target.parents:
        raise ArtifactRefused(f"The artifact {relative!r} leads out of the run's folder.")
    return target


def _read_local(path: Path) -> Iterator[bytes]:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise ArtifactRefused(f"Cannot open the artifact: {exc.strerror}.") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ArtifactRefused("The artifact is not a regular file.")
    return _chunks(fd)


def _chunks(fd: int) -> Iterator[bytes]:
    try:
        while chunk := os.read(fd, _CHUNK):
            yield chunk
    finally:
        os.close(fd)
