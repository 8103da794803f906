"""The Google Gen AI integration's tests: the real ``google-genai`` SDK over real HTTP to
``LLMServer``.

Every test gets its own store and journal (``tracklm.testing.isolated_tracklm``), autolog on
in strict mode (an error inside tracklm raises instead of being logged), and autolog off
again afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from google_support import GENAI_VERSION, OPEN_CLIENTS

import tracklm
from tracklm.testing import LLMServer, isolated_tracklm
from tracklm.testing.pytest_plugin import Replay, tracklm_replay  # noqa: F401 (fixture)


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


@pytest.fixture
def replay(tracklm_replay: Replay) -> Replay:  # noqa: F811 (the fixture imported)
    """``replay("<cassette name>", ...)``: a started server replaying these recorded
    cassettes of ``google-genai``."""
    return functools.partial(tracklm_replay, "google-genai")
