"""The Anthropic integration's tests: the real ``anthropic`` SDK over real HTTP to ``LLMServer``.

Every test runs in a fresh tracklm (its own store and journal, strict mode: an error inside
tracklm raises instead of being logged) with autolog on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import anthropic
import pytest

import tracklm
from tracklm.testing import LLMServer, isolated_tracklm
from tracklm.testing._fixtures import find_fixtures_dir


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


@pytest.fixture(scope="session")
def cassettes_dir() -> Path:
    found = find_fixtures_dir(__file__)
    if found is None:
        pytest.skip("no recorded cassettes: set TRACKLM_FIXTURES_DIR")
    return found / "anthropic" / "cassettes"


@pytest.fixture
def replay(cassettes_dir: Path) -> Iterator[Callable[..., LLMServer]]:
    """``replay("messages__test_anthropic_tools_legacy", ...)``: a started server replaying
    the cassettes ``test_<name>.yaml``."""
    with ExitStack() as stack:

        def start(*names: str) -> LLMServer:
            paths = [cassettes_dir / f"test_{n}.yaml" for n in names]
            return stack.enter_context(LLMServer(paths))

        yield start
