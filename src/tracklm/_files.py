"""Folders tracklm creates for its own files: readable by their owner only, whatever the umask."""

from __future__ import annotations

from pathlib import Path


def private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each with mode 0700 (``mkdir -p`` would give
    the parents the umask's default, world-writable under ``umask 000``)."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another thread or process, or a file
            if not folder.is_dir():
                raise
