"""The OpenAI integration's tests: the real ``openai`` SDK over real HTTP to ``LLMServer``.

Every test gets its own store and journal, autolog on in strict mode (an error inside tracklm
raises instead of being logged), and autolog off again afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

import tracklm
from tracklm.testing import LLMServer, isolated_tracklm
from tracklm.testing.pytest_plugin import Replay, tracklm_replay  # noqa: F401 (fixture)


def pytest_report_header() -> str:
    return f"openai {openai.__version__} (tracklm-openai tests)"


@pytest.fixture(autouse=True)
def _isolated_autolog(tmp_path: Path) -> Iterator[None]:
    with isolated_tracklm(tmp_path, strict=True):
        tracklm.autolog()
        yield


@pytest.fixture
def server() -> Iterator[LLMServer]:
    """A started server in echo mode."""
    with LLMServer() as started:
        yield started


@pytest.fixture
def replay(tracklm_replay: Replay) -> Replay:  # noqa: F811 (the fixture imported)
    """``replay("<cassette name>", ...)``: a started server replaying these recorded
    cassettes of ``openai``."""
    return functools.partial(tracklm_replay, "openai")
