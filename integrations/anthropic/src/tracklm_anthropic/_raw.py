"""What the wrapped ``request`` returns, and how each form of it is recorded.

- a ``Message`` (``ParsedMessage`` from ``messages.parse``): recorded as it is;
- ``Stream`` / ``AsyncStream``: returned as it is, its events watched (:mod:`._streams`). The
  ``messages.stream()`` helpers of releases since 0.43 iterate and close that stream, so
  their call is finished when the helper is exhausted, closed or left by ``with``;
- a raw response whose body is read already (``with_raw_response``: ``LegacyAPIResponse``
  in old releases, ``APIResponse`` in "raw" mode in current ones): recorded at once from those
  bytes; streamed, it is recorded through the stream its ``parse()`` returns;
- ``APIResponse`` / ``AsyncAPIResponse`` with the body unread (``with_streaming_response``):
  a transparent proxy records what ``parse()``, ``read()``, ``text()``, ``json()`` or the
  ``iter_*()`` methods give, and finishes the call on ``close()`` (which leaving ``with``
  calls) or when the response is dropped.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import wrapt
from anthropic import AsyncStream, Stream
from anthropic._response import APIResponse, AsyncAPIResponse

from tracklm.integration import CallHandle, CallStart
from tracklm_anthropic._requests import Request
from tracklm_anthropic._streams import watch
from tracklm_anthropic._values import RawBody

T = TypeVar("T")


def _legacy_response_class() -> type | None:
    """``LegacyAPIResponse``, what ``with_raw_response`` gives in releases that have it."""
    try:
        module = importlib.import_module("anthropic._legacy_response")
    except ImportError:
        return None
    found = getattr(module, "LegacyAPIResponse", None)
    return found if isinstance(found, type) else None


_LEGACY_RESPONSE: Final = _legacy_response_class()


def handle(call: CallHandle, start: CallStart, result: Any) -> Any:
    """Record ``result`` and return what the caller gets: ``result`` or a proxy of it."""
    if _is_stream(result):
        return watch(call, result)
    legacy = _LEGACY_RESPONSE is not None and isinstance(result, _LEGACY_RESPONSE)
    if legacy or isinstance(result, (APIResponse, AsyncAPIResponse)):
        content = _content(result)
        if content is not None and not start.stream:
            call.done(RawBody(content))
            return result
        if legacy:
            return _RawStreamResponse(result, call, start.request)
        if isinstance(result, AsyncAPIResponse):
            return _AsyncStreamingResponse(result, call, start.request)
        return _StreamingResponse(result, call, start.request)
    call.done(result)
    return result


def _is_stream(value: Any) -> bool:
    # by class, as releases before 1.0 answer isinstance() for the exact Stream class only
    return issubclass(type(value), (Stream, AsyncStream))


def _content(response: Any) -> bytes | None:
    """The body of a raw response if it was read already (httpx raises until it is)."""
    try:
        content = response.http_response.content
    except Exception:
        return None
    return content if isinstance(content, bytes) else None


class _ResponseProxy(wrapt.ObjectProxy[Any]):
    """A raw response handed to the caller: the call ends with what is read of it."""

    def __init__(self, wrapped: Any, call: CallHandle, request: Request) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_request = request

    def _run(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except BaseException as error:
            self._self_call.fail(error)
            raise

    async def _await(self, method: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        try:
            return await method(*args, **kwargs)
        except BaseException as error:
            self._self_call.fail(error)
            raise

    def _parsed(self, parsed: Any) -> Any:
        if not _is_stream(parsed):  # parse(to=str) gives the body
            self._self_call.done(RawBody(parsed) if isinstance(parsed, (str, bytes)) else parsed)
            return parsed
        return watch(self._self_call, parsed)

    def _read(self, value: T, body: Any) -> T:
        self._self_call.done(body)
        return value

    def _pieces(self, iterator: Any, separator: str) -> Any:
        self._self_request.separator = separator
        return self._self_call.wrap_stream(iterator)

    def __del__(self) -> None:
        self._self_call.done(None)


class _RawStreamResponse(_ResponseProxy):
    """A streamed ``LegacyAPIResponse``: ``parse()`` gives the stream to watch (sync even for
    the async client)."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._parsed(self._run(self.__wrapped__.parse, *args, **kwargs))


class _StreamingResponse(_ResponseProxy):
    """An ``APIResponse`` of the sync client, its body not read yet."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._parsed(self._run(self.__wrapped__.parse, *args, **kwargs))

    def read(self) -> bytes:
        content: bytes = self._run(self.__wrapped__.read)
        return self._read(content, RawBody(content))

    def text(self) -> str:
        text: str = self._run(self.__wrapped__.text)
        return self._read(text, RawBody(text))

    def json(self) -> object:
        value = self._run(self.__wrapped__.json)
        return self._read(value, value)

    def iter_bytes(self, *args: Any, **kwargs: Any) -> Any:
        return self._pieces(self.__wrapped__.iter_bytes(*args, **kwargs), "")

    def iter_text(self, *args: Any, **kwargs: Any) -> Any:
        return self._pieces(self.__wrapped__.iter_text(*args, **kwargs), "")

    def iter_lines(self) -> Any:
        return self._pieces(self.__wrapped__.iter_lines(), "\n")

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_call.done(None)


class _AsyncStreamingResponse(_ResponseProxy):
    """An ``AsyncAPIResponse``, its body not read yet."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._parsed(await self._await(self.__wrapped__.parse, *args, **kwargs))

    async def read(self) -> bytes:
        content: bytes = await self._await(self.__wrapped__.read)
        return self._read(content, RawBody(content))

    async def text(self) -> str:
        text: str = await self._await(self.__wrapped__.text)
        return self._read(text, RawBody(text))

    async def json(self) -> object:
        value = await self._await(self.__wrapped__.json)
        return self._read(value, value)

    def iter_bytes(self, *args: Any, **kwargs: Any) -> Any:
        return self._pieces(self.__wrapped__.iter_bytes(*args, **kwargs), "")

    def iter_text(self, *args: Any, **kwargs: Any) -> Any:
        return self._pieces(self.__wrapped__.iter_text(*args, **kwargs), "")

    def iter_lines(self) -> Any:
        return self._pieces(self.__wrapped__.iter_lines(), "\n")

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_call.done(None)
