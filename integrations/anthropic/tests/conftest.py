"""The Anthropic integration's tests: the real ``anthropic`` SDK over real HTTP to ``LLMServer``.

Every test runs in a fresh tracklm (its own store and journal, strict mode: an error inside
tracklm raises instead of being logged) with autolog on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

import tracklm
from tracklm.testing import LLMServer, isolated_tracklm
from tracklm.testing.pytest_plugin import Replay, tracklm_replay  # noqa: F401 (fixture)


def pytest_configure(config: pytest.Config) -> None:
    # the SDK warns about the retired models of the recorded responses
    config.addinivalue_line(
        "filterwarnings", "ignore:The model .* is deprecated:DeprecationWarning"
    )


def pytest_report_header() -> str:
    return f"anthropic {anthropic.__version__} (tracklm-anthropic tests)"


@pytest.fixture(autouse=True)
def _isolated_autolog(tmp_path: Path) -> Iterator[None]:
    with isolated_tracklm(tmp_path):
        tracklm.autolog()
        yield


@pytest.fixture
def server() -> Iterator[LLMServer]:
    """A started server with nothing recorded: answers what a test queues."""
    with LLMServer(echo=False) as started:
        yield started


@pytest.fixture
def replay(tracklm_replay: Replay) -> Replay:  # noqa: F811 (the fixture imported)
    """``replay("messages__test_anthropic_tools_legacy", ...)``: a started server replaying
    the recorded cassettes ``test_<name>.yaml`` of ``anthropic``."""
    return lambda *names: tracklm_replay("anthropic", *(f"test_{n}" for n in names))
