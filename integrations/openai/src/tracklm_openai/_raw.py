"""What the wrapped ``request`` returns, and how each form is recorded.

- a parsed object (``ChatCompletion``, ``Response``...): recorded as is;
- ``Stream`` / ``AsyncStream``: wrapped by the core's transparent stream proxy;
- ``LegacyAPIResponse`` (``with_raw_response``): its body is already read, so it is recorded
  at once and parsed from bytes on tracklm's thread; a streamed one is recorded through the
  stream its ``parse()`` returns;
- ``APIResponse`` (``with_streaming_response``): its body is read later by the caller, so a
  proxy records it when ``parse()`` or a ``read``/``iter_*`` method has given it, or when it is
  closed.
"""

from __future__ import annotations

from typing import Any

import wrapt
from openai import AsyncStream, Stream
from openai._legacy_response import LegacyAPIResponse
from openai._response import APIResponse, AsyncAPIResponse

from tracklm.integration import CallHandle


def handle(call: CallHandle, result: Any) -> Any:
    """Record ``result`` and return what the caller gets: ``result`` or a proxy of it."""
    if isinstance(result, (Stream, AsyncStream)):
        return call.wrap_stream(result)
    if isinstance(result, LegacyAPIResponse):
        if getattr(result, "_stream", False):
            return _RawStreamResponse(result, call)
        call.done(result)
        return result
    if isinstance(result, (APIResponse, AsyncAPIResponse)):
        return (
            _LazyResponse(result, call)
            if isinstance(result, APIResponse)
            else (_AsyncLazyResponse(result, call))
        )
    call.done(result)
    return result


class _RawStreamResponse(wrapt.ObjectProxy[Any]):
    """A streamed ``with_raw_response`` result: its ``parse()`` gives the stream to watch."""

    def __init__(self, wrapped: Any, call: CallHandle) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_stream: Any = None

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = self.__wrapped__.parse(*args, **kwargs)
        if isinstance(parsed, (Stream, AsyncStream)):
            if self._self_stream is None:
                self._self_stream = self._self_call.wrap_stream(parsed)
            return self._self_stream
        self._self_call.done(parsed)
        return parsed


class _LazyResponse(wrapt.ObjectProxy[Any]):
    """A ``with_streaming_response`` result: recorded from what the caller reads of it."""

    def __init__(self, wrapped: Any, call: CallHandle) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_stream: Any = None

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = self.__wrapped__.parse(*args, **kwargs)
        if isinstance(parsed, (Stream, AsyncStream)):
            if self._self_stream is None:
                self._self_stream = self._self_call.wrap_stream(parsed)
            return self._self_stream
        self._self_call.done(parsed)
        return parsed

    def read(self) -> Any:
        content = self.__wrapped__.read()
        self._self_call.done(_Body(content))
        return content

    def json(self) -> Any:
        value = self.__wrapped__.json()
        self._self_call.done(value)
        return value

    def text(self) -> Any:
        text = self.__wrapped__.text()
        self._self_call.done(_Body(text.encode()))
        return text

    def iter_lines(self) -> Any:
        stream = self._self_call.wrap_stream(self.__wrapped__.iter_lines())
        return stream

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_call.done(None)

    def __del__(self) -> None:
        self._self_call.done(None)


class _AsyncLazyResponse(wrapt.ObjectProxy[Any]):
    """The async form of :class:`_LazyResponse`."""

    def __init__(self, wrapped: Any, call: CallHandle) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_stream: Any = None

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = await self.__wrapped__.parse(*args, **kwargs)
        if isinstance(parsed, (Stream, AsyncStream)):
            if self._self_stream is None:
                self._self_stream = self._self_call.wrap_stream(parsed)
            return self._self_stream
        self._self_call.done(parsed)
        return parsed

    async def read(self) -> Any:
        content = await self.__wrapped__.read()
        self._self_call.done(_Body(content))
        return content

    async def json(self) -> Any:
        value = await self.__wrapped__.json()
        self._self_call.done(value)
        return value

    async def text(self) -> Any:
        text = await self.__wrapped__.text()
        self._self_call.done(_Body(text.encode()))
        return text

    def iter_lines(self) -> Any:
        return self._self_call.wrap_stream(self.__wrapped__.iter_lines())

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_call.done(None)

    def __del__(self) -> None:
        self._self_call.done(None)


class _Body:
    """Bytes the caller read from a streaming response, parsed on tracklm's thread."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    @property
    def http_response(self) -> _Body:
        return self

    def parse(self) -> None:  # marks it as a raw body for the reader
        return None
