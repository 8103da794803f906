"""Every test gets its own store and journal folder, and a clean tracklm state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tracklm.testing import isolated_tracklm


@pytest.fixture(autouse=True)
def _isolated_tracklm(tmp_path: Path) -> Iterator[None]:
    with isolated_tracklm(tmp_path, strict=False):
        yield


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """The folder of this test's store (set as the tracking URI)."""
    return tmp_path / "store"
