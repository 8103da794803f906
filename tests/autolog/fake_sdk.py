"""A tiny LLM SDK for the core's autolog tests: sync and async calls, streams, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass


class SDKError(Exception):
    """What the fake API raises for a bad request."""


@dataclass
class Reply:
    text: str
    tokens: int


class Stream:
    """An iterator of text chunks with a close(), like an SDK's stream object."""

    def __init__(self, words: list[str], fail_after: int | None = None) -> None:
        self._words = iter(words)
        self._sent = 0
        self._fail_after = fail_after
        self.closed = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._fail_after is not None and self._sent >= self._fail_after:
            raise SDKError("connection lost mid-stream")
        self._sent += 1
        return next(self._words)

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True


class AsyncStream:
    def __init__(self, words: list[str]) -> None:
        self._words = iter(words)

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        try:
            return next(self._words)
        except StopIteration:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        pass


class Client:
    def __init__(self, api_key: str = "") -> None:
        self.api_key = api_key

    def generate(
        self,
        prompt: object,
        model: str,
        temperature: float | None = None,
        stream: bool = False,
        fail_after: int | None = None,
    ) -> Reply | Stream:
        if model == "missing":
            raise SDKError(f"model {model} not found")
        words = f"echo: {prompt}".split()
        if stream:
            return Stream(words, fail_after)
        return Reply(" ".join(words), len(words))

    async def agenerate(
        self, prompt: str, model: str, temperature: float | None = None, stream: bool = False
    ) -> Reply | AsyncStream:
        if model == "missing":
            raise SDKError(f"model {model} not found")
        words = f"echo: {prompt}".split()
        return AsyncStream(words) if stream else Reply(" ".join(words), len(words))

    def list_models(self) -> list[str]:
        return ["m1"]
