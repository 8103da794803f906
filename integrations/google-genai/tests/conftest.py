"""The Google Gen AI integration's tests: the real ``google-genai`` SDK over real HTTP to
``LLMServer``.

Every test gets its own store and journal (``tracklm.testing.isolated_tracklm``), autolog on
in strict mode (an error inside tracklm raises instead of being logged), and autolog off
again afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from google_support import GENAI_VERSION, OPEN_CLIENTS

import tracklm
from tracklm.testing import LLMServer, isolated_tracklm
from tracklm.testing._fixtures import find_fixtures_dir


def pytest_report_header() -> str:
    return f"google-genai {GENAI_VERSION} (tracklm-google-genai tests)"


@pytest.fixture(autouse=True)
def _isolated_autolog(tmp_path: Path) -> Iterator[None]:
    with isolated_tracklm(tmp_path, strict=True):
        tracklm.autolog()
        yield
        OPEN_CLIENTS.clear()


@pytest.fixture
def server() -> Iterator[LLMServer]:
    """A started server answering only what a test queues (no echo mode for this API)."""
    with LLMServer(echo=False) as started:
        yield started


@pytest.fixture(scope="session")
def cassettes_dir() -> Path:
    found = find_fixtures_dir(__file__)
    if found is None:
        pytest.skip("no recorded cassettes: set TRACKLM_FIXTURES_DIR")
    return found / "google-genai" / "cassettes"


@pytest.fixture
def replay(cassettes_dir: Path) -> Iterator[Callable[..., LLMServer]]:
    """``replay("test_streaming[...]", ...)``: a started server replaying these cassettes."""
    with ExitStack() as stack:

        def start(*names: str) -> LLMServer:
            return stack.enter_context(LLMServer([cassettes_dir / f"{n}.yaml" for n in names]))

        yield start
