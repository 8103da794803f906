"""The OpenAI integration's tests: the real ``openai`` SDK over real HTTP to ``LLMServer``.

Every test gets its own store and journal, autolog on in strict mode (an error inside tracklm
raises instead of being logged), and autolog off again afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import openai
import pytest

import tracklm
from tracklm import _fluent, _run_manager
from tracklm.autolog import set_strict
from tracklm.testing import LLMServer
from tracklm.testing._fixtures import find_fixtures_dir


def pytest_report_header() -> str:
    return f"openai {openai.__version__} (tracklm-openai tests)"


@pytest.fixture(autouse=True)
def _isolated_autolog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("TRACKLM_TRACKING_URI", "TRACKLM_EXPERIMENT_NAME", "TRACKLM_AUTOLOG_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRACKLM_JOURNAL_DIR", str(tmp_path / "journal"))
    _fluent._reset()
    tracklm.set_tracking_uri(str(tmp_path / "store"))
    set_strict(True)
    tracklm.autolog()
    yield
    tracklm.autolog(disable=True)
    set_strict(False)
    _fluent._reset()
    _run_manager.shutdown_all(timeout=10)


@pytest.fixture
def server() -> Iterator[LLMServer]:
    """A started server in echo mode."""
    with LLMServer() as started:
        yield started


@pytest.fixture(scope="session")
def cassettes_dir() -> Path:
    found = find_fixtures_dir(__file__)
    if found is None:
        pytest.skip("no recorded cassettes: set TRACKLM_FIXTURES_DIR")
    return found / "openai" / "cassettes"


@pytest.fixture
def replay(cassettes_dir: Path) -> Iterator[Callable[..., LLMServer]]:
    """``replay("test_chat_completion_404", ...)``: a started server replaying cassettes."""
    with ExitStack() as stack:

        def start(*names: str) -> LLMServer:
            return stack.enter_context(LLMServer([cassettes_dir / f"{n}.yaml" for n in names]))

        yield start
