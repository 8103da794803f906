"""The fault suite: a real app (the ``openai`` SDK with ``tracklm.autolog()``) against
``tracklm.testing.LLMServer``, driven through crashes, store faults, bursts, server faults and
shutdowns. Each test checks that the app's calls behave as without tracklm and that every
record of a call that returned is in the store afterwards (or counted as dropped where the
design allows it).

tracklm runs as in production here (not strict): an internal error must not reach the call,
and :func:`_no_internal_errors` fails the test if one was logged. At the end of the session
every file under pytest's temporary folder - every store and journal the suite made - is
scanned for the credentials the tests used (:func:`_no_secret_in_any_file`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracklm
from tracklm.testing import LLMServer

from ._app import SECRETS, measurements


@pytest.fixture(autouse=True)
def _autolog() -> Iterator[None]:
    """Autolog on, in production mode (errors inside tracklm are logged, never raised)."""
    tracklm.autolog()
    yield
    tracklm.autolog(disable=True)


@pytest.fixture(autouse=True)
def _no_internal_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG, logger="tracklm")
    yield
    internal = [r.getMessage() for r in caplog.records if "your call is unaffected" in r.msg]
    assert internal == [], "tracklm hit internal errors (hidden from the app)"


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as started:
        yield started


@pytest.fixture(scope="session", autouse=True)
def _no_secret_in_any_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No credential a test used is in any file of any store or journal, at the end."""
    yield
    leaks = []
    for path in tmp_path_factory.getbasetemp().rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            leaks += [(str(path), s) for s in SECRETS if s.encode() in data]
    assert leaks == [], f"credentials found in files: {leaks}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what the suite measured (losses that are reported, not asserted to be zero)."""
    if measurements:
        terminalreporter.section("tracklm fault measurements")
        for line in measurements:
            terminalreporter.write_line(line)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"
