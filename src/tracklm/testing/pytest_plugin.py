"""pytest fixtures of :mod:`tracklm.testing`.

Enable them in a ``conftest.py`` with ``pytest_plugins = ["tracklm.testing.pytest_plugin"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from ._fixtures import find_fixtures_dir
from ._isolation import isolated_tracklm
from ._server import LLMServer

__all__ = ["Replay", "llm_server", "tracklm_replay", "tracklm_store"]

Replay = Callable[..., LLMServer]
"""``replay(provider, *cassette_names) -> LLMServer``, what :func:`tracklm_replay` gives."""


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


@pytest.fixture
def tracklm_replay(request: pytest.FixtureRequest) -> Iterator[Replay]:
    """``tracklm_replay("openai", "test_chat_completion", ...)``: a started
    :class:`~tracklm.testing.LLMServer` replaying the recorded cassettes
    ``<fixtures>/<provider>/cassettes/<name>.yaml``, stopped after the test.

    The fixtures folder is ``$TRACKLM_FIXTURES_DIR``, else the first ``fixtures`` or
    ``shared/fixtures`` folder above the test's file; without one the test is skipped."""
    found = find_fixtures_dir(request.path)
    with ExitStack() as stack:

        def start(provider: str, *names: str) -> LLMServer:
            if found is None:
                pytest.skip("no recorded cassettes: set TRACKLM_FIXTURES_DIR")
            folder = found / provider / "cassettes"
            return stack.enter_context(LLMServer([folder / f"{n}.yaml" for n in names]))

        yield start
