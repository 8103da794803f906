"""Autolog tests use a fake SDK and its integration, registered as if installed."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest

import tracklm
from tracklm.autolog import set_strict
from tracklm.integration import Integration

from .fake_integration import FakeIntegration

AUTOLOG_MODULE = sys.modules["tracklm.autolog"]


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make these integrations the installed ones (the entry points of this environment)."""

    def install(*integrations: Integration) -> None:
        found = {i.name: i for i in integrations}
        monkeypatch.setattr(AUTOLOG_MODULE, "discover", lambda: dict(found))

    install(FakeIntegration())
    return install


@pytest.fixture(autouse=True)
def _autolog_off_after_test() -> Iterator[None]:
    set_strict(True)
    yield
    tracklm.autolog(disable=True)
    set_strict(False)
