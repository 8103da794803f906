"""pytest fixtures of :mod:`tracklm.testing`.

Enable them in a ``conftest.py`` with ``pytest_plugins = ["tracklm.testing.pytest_plugin"]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._server import LLMServer

__all__ = ["llm_server"]


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A started :class:`~tracklm.testing.LLMServer` in echo mode, stopped after the test."""
    with LLMServer(echo=True) as server:
        yield server
