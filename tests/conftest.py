"""Every test gets its own store and journal folder, and a clean fluent state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import tracklm
from tracklm import _fluent, _run_manager
from tracklm.autolog import _runs


@pytest.fixture(autouse=True)
def _isolated_tracklm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("TRACKLM_TRACKING_URI", "TRACKLM_EXPERIMENT_NAME", "TRACKLM_EXIT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRACKLM_JOURNAL_DIR", str(tmp_path / "journal"))
    _fluent._reset()
    tracklm.set_tracking_uri(str(tmp_path / "store"))
    yield
    tracklm.autolog(disable=True)
    _runs.end_autolog_runs()
    _fluent._reset()
    _run_manager.shutdown_all(timeout=10)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """The folder of this test's store (set as the tracking URI)."""
    return tmp_path / "store"
