"""Fixtures for the tests of tracklm.testing: recorded cassettes and raw HTTP helpers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tracklm.testing import LLMServer
from tracklm.testing._fixtures import find_fixtures_dir
from tracklm.testing.pytest_plugin import llm_server  # noqa: F401  (the fixture under test)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The folder of recorded API responses (``<provider>/cassettes/*.yaml``)."""
    found = find_fixtures_dir(__file__)
    if found is None:
        pytest.skip("no recorded cassettes: set TRACKLM_FIXTURES_DIR")
    return found


@pytest.fixture
def cassette(fixtures_dir: Path) -> Callable[[str, str], Path]:
    """``cassette("openai", "test_chat_completion_with_content")`` -> its path."""

    def find(provider: str, name: str) -> Path:
        path = fixtures_dir / provider / "cassettes" / f"{name}.yaml"
        assert path.is_file(), path
        return path

    return find


RawPost = Callable[..., tuple[int, dict[str, str], bytes]]


@pytest.fixture
def raw_post() -> RawPost:
    """POST JSON with urllib: ``raw_post(server, "/v1/chat/completions", {...})``."""

    def post(
        server: LLMServer, path: str, payload: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        request = urllib.request.Request(
            server.url + path,
            data=data,
            headers={"Content-Type": "application/json", **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, dict(error.headers), error.read()

    return post


def sse_data(body: bytes) -> list[Any]:
    """The JSON ``data:`` payloads of an SSE body, without the final ``[DONE]``."""
    payloads = []
    for line in body.decode().splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            payloads.append(json.loads(line[len("data: ") :]))
    return payloads


@pytest.fixture
def parse_sse() -> Callable[[bytes], list[Any]]:
    """Parse an SSE body into its JSON payloads."""
    return sse_data
