"""What the wrapped ``request`` returns, and how each form of it is recorded.

- a parsed object (``ChatCompletion``, ``Response``, ``ParsedChatCompletion``...): recorded
  as it is;
- ``Stream`` / ``AsyncStream``: wrapped by the core's transparent stream proxy;
- ``LegacyAPIResponse`` (``with_raw_response``): its body is read already, so the call is
  recorded at once from those bytes; a streamed one is recorded through the stream its
  ``parse()`` returns;
- ``APIResponse`` / ``AsyncAPIResponse`` (``with_streaming_response``): the caller reads the
  body later, so a transparent proxy records what ``parse()``, ``read()``, ``text()``,
  ``json()`` or the ``iter_*()`` methods give, and finishes the call on ``close()`` (which
  leaving ``with`` calls) or when the response is dropped.

The ``stream`` helpers (``chat.completions.stream``, ``responses.stream``) iterate the proxied
``Stream`` but close its HTTP response themselves; :func:`finish_helper_stream` runs before
their ``close()`` so the call ends when they do, not when they are garbage collected.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import wrapt
from openai import AsyncStream, Stream
from openai._legacy_response import LegacyAPIResponse
from openai._response import APIResponse, AsyncAPIResponse

from tracklm.integration import CallHandle, CallStart
from tracklm_openai._requests import Request
from tracklm_openai._values import RawBody

T = TypeVar("T")

# the SDK's streams -> their calls, for the helpers that close a stream behind its proxy
_stream_calls: weakref.WeakKeyDictionary[Any, CallHandle] = weakref.WeakKeyDictionary()


def handle(call: CallHandle, start: CallStart, result: Any) -> Any:
    """Record ``result`` and return what the caller gets: ``result`` or a proxy of it."""
    if isinstance(result, (Stream, AsyncStream)):
        return _watch_stream(call, result)
    if isinstance(result, LegacyAPIResponse):
        if start.stream:
            return _RawStreamResponse(result, call, start.request)
        call.done(RawBody(result.http_response.content))
        return result
    if isinstance(result, APIResponse):
        return _StreamingResponse(result, call, start.request)
    if isinstance(result, AsyncAPIResponse):
        return _AsyncStreamingResponse(result, call, start.request)
    call.done(result)
    return result


def finish_helper_stream(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a helper stream's ``close()``: finish the call of the stream it wraps.

    A target's ``start`` hook that records nothing itself (it returns None)."""
    raw = getattr(instance, "_raw_stream", None)
    call = _stream_calls.get(getattr(raw, "__wrapped__", raw)) if raw is not None else None
    if call is not None:
        call.done(None)


def _watch_stream(call: CallHandle, stream: Any) -> Any:
    _stream_calls[stream] = call
    return call.wrap_stream(stream)


class _ResponseProxy(wrapt.ObjectProxy[Any]):
    """A raw response handed to the caller: the call ends with what is read of it."""

    def __init__(self, wrapped: Any, call: CallHandle, request: Request) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_request = request
        self._self_stream: Any = None

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
        if not isinstance(parsed, (Stream, AsyncStream)):  # parse(to=str) gives the body
            self._self_call.done(RawBody(parsed) if isinstance(parsed, (str, bytes)) else parsed)
            return parsed
        if self._self_stream is None:  # parse() is cached: always the same stream
            self._self_stream = _watch_stream(self._self_call, parsed)
        return self._self_stream

    def _read(self, value: T, body: Any) -> T:
        self._self_call.done(body)
        return value

    def _pieces(self, iterator: Any, separator: str) -> Any:
        self._self_request.body_separator = separator
        return self._self_call.wrap_stream(iterator)

    def __del__(self) -> None:
        self._self_call.done(None)


class _RawStreamResponse(_ResponseProxy):
    """A streamed ``with_raw_response`` result: ``parse()`` gives the stream to watch (sync
    even for the async client)."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._parsed(self._run(self.__wrapped__.parse, *args, **kwargs))


class _StreamingResponse(_ResponseProxy):
    """A ``with_streaming_response`` result of the sync client."""

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
    """A ``with_streaming_response`` result of the async client."""

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
