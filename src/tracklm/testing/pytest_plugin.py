"""pytest fixtures of :mod:`tracklm.testing`.

Enable them in a ``conftest.py`` with ``pytest_plugins = ["tracklm.testing.pytest_plugin"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._isolation import isolated_tracklm
from ._server import LLMServer

__all__ = ["llm_server", "tracklm_store"]


@pytest.fixture
def tracklm_store(tmp_path: Path) -> Iterator[Path]:
    """tracklm logging into a fresh store under the test's ``tmp_path`` (see
    :func:`~tracklm.testing.isolated_tracklm`); yields the store's folder."""
    with isolated_tracklm(tmp_path) as store:
        yield store


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A started :class:`~tracklm.testing.LLMServer` in echo mode, stopped after the test."""
    with LLMServer(echo=True) as server:
        yield server
