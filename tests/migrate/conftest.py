"""A source store filled by a real app, for the migration tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ._data import populate


@dataclass
class Source:
    uri: str
    ids: dict[str, str]
    """The ids of its notable runs: parent, child, failed, default, running."""


@pytest.fixture
def source(tmp_path: Path) -> Source:
    """A SQLite store filled by an app (see ``_data.populate``)."""
    uri = str(tmp_path / "source")
    return Source(uri, populate(uri, tmp_path))
