"""Watching a stream's chunks: each one seen, the call finished exactly once.

Two ways, one per-chunk path:

- :class:`Watch` / :class:`AsyncWatch` iterate an iterator and see each chunk: it appends
  the chunk (or what the integration's ``keep`` makes of it) to the call's list and, for the
  first, notes the time; the chunks are read on tracklm's background thread. Where the
  integration keeps the stream's raw body instead (``raw_body``), no chunk is kept. An SDK stream
  object that pulls its chunks from an iterator of its own (a Stainless ``Stream``'s
  ``_iterator``) gets a watch in its place: the caller keeps the SDK's object itself, and
  nothing stands between them.
- :class:`StreamProxy` / :class:`AsyncStreamProxy`, a ``wrapt.ObjectProxy`` around a stream
  that cannot be watched from inside, so that ``isinstance(s, SDKStream)`` holds and every
  attribute (``response``, ``close``...) is the stream's own; iterating it iterates its watch.

The call is finished exactly once: when iteration ends or fails, on ``close()``, on leaving
``with``, or when the watch is garbage collected unfinished (dropped with its stream).
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

import wrapt

from tracklm.autolog._shield import internal_error

if TYPE_CHECKING:
    from tracklm.autolog._calls import Call

Keep = Callable[[Any], Any]
"""What to keep of a chunk (see :meth:`tracklm.integration.CallHandle.wrap_stream`)."""


class _Watching:
    """What a watch holds: the iterator it reads, the call, where the chunks go."""

    __slots__ = ("call", "chunks", "iterator", "keep")
    chunks: list[Any] | None

    def __init__(
        self, iterator: Any, call: Call, keep: Keep | None, raw_body: list[Any] | None
    ) -> None:
        self.iterator = iterator
        self.call = call
        call.streamed = True
        if raw_body is None:
            self.chunks = call.chunks = []
        else:  # the integration keeps the raw body there: no chunk is kept
            self.chunks = None
            call.chunks = raw_body
        self.keep = keep

    def __del__(self) -> None:  # dropped unfinished, with its stream
        self.call.stream_ended(None, closed=True)


class Watch(_Watching):
    """An iterator of a call's chunks: ``iterator``'s, each seen on its way to the caller."""

    __slots__ = ()

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> Any:
        call = self.call  # written out here rather than in functions: this runs per chunk
        try:
            chunk = self.iterator.__next__()
        except StopIteration:
            call.stream_ended(None)
            raise
        except BaseException as exc:
            call.stream_ended(exc)
            raise
        if not call.finished:  # read after close(): the record is gone to the flusher already
            if call.ttft_ns is None:
                call.ttft_ns = perf_counter_ns()
            chunks = self.chunks
            if chunks is not None:
                keep = self.keep
                if keep is None:
                    chunks.append(chunk)
                else:
                    try:
                        chunks.append(keep(chunk))
                    except Exception as exc:  # the integration's code: keep the chunk itself
                        internal_error("reducing a stream's chunk failed", exc)
                        chunks.append(chunk)
        return chunk


class AsyncWatch(_Watching):
    """An async iterator of a call's chunks: ``iterator``'s, each seen on its way."""

    __slots__ = ()

    def __aiter__(self) -> AsyncWatch:
        return self

    async def __anext__(self) -> Any:
        call = self.call
        try:
            chunk = await self.iterator.__anext__()
        except StopAsyncIteration:
            call.stream_ended(None)
            raise
        except BaseException as exc:
            call.stream_ended(exc)
            raise
        if not call.finished:
            if call.ttft_ns is None:
                call.ttft_ns = perf_counter_ns()
            chunks = self.chunks
            if chunks is not None:
                keep = self.keep
                if keep is None:
                    chunks.append(chunk)
                else:
                    try:
                        chunks.append(keep(chunk))
                    except Exception as exc:
                        internal_error("reducing a stream's chunk failed", exc)
                        chunks.append(chunk)
        return chunk


class StreamProxy(wrapt.ObjectProxy[Any]):
    """A synchronous stream (iterator, or iterable) of chunks; ``for`` iterates its watch."""

    def __init__(
        self, wrapped: Any, call: Call, keep: Keep | None, raw_body: list[Any] | None
    ) -> None:
        super().__init__(wrapped)
        iterator = wrapped if hasattr(type(wrapped), "__next__") else iter(wrapped)
        self._self_watch = Watch(iterator, call, keep, raw_body)

    def __iter__(self) -> Watch:
        return self._self_watch

    def __next__(self) -> Any:
        return self._self_watch.__next__()

    def __enter__(self) -> Any:
        entered = self.__wrapped__.__enter__()
        # the SDK's stream returns itself: hand back the proxy so iteration stays seen
        return self if entered is self.__wrapped__ else entered

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_watch.call.stream_ended(exc_info[1], closed=True)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_watch.call.stream_ended(None, closed=True)


class AsyncStreamProxy(wrapt.ObjectProxy[Any]):
    """An asynchronous stream (async iterator) of chunks; ``async for`` iterates its watch."""

    def __init__(
        self, wrapped: Any, call: Call, keep: Keep | None, raw_body: list[Any] | None
    ) -> None:
        super().__init__(wrapped)
        self._self_watch = AsyncWatch(wrapped, call, keep, raw_body)

    def __aiter__(self) -> AsyncWatch:
        return self._self_watch

    async def __anext__(self) -> Any:
        return await self._self_watch.__anext__()

    async def __aenter__(self) -> Any:
        entered = await self.__wrapped__.__aenter__()
        return self if entered is self.__wrapped__ else entered

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_watch.call.stream_ended(exc_info[1], closed=True)

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_watch.call.stream_ended(None, closed=True)

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_watch.call.stream_ended(None, closed=True)


def stream_call(stream: Any) -> Call | None:
    """The call of a proxy made by :func:`wrap` or a watch made by :func:`watch`; None for
    anything else."""
    kind = type(stream)  # type() sees the proxy, not the SDK's object
    if kind is Watch or kind is AsyncWatch:
        return stream.call  # type: ignore[no-any-return]
    if kind is StreamProxy or kind is AsyncStreamProxy:
        return stream._self_watch.call  # type: ignore[no-any-return]
    return None


def _learn_async(stream: Any) -> bool:
    """Whether ``stream`` is async; kept in ``_async_kinds`` for its class (a failed look-up
    on a class raises inside, which would cost at every call), unless the class answers for
    another object (a proxy's ``__getattr__``), whose kind may change from one to the next."""
    kind = type(stream)
    found = hasattr(stream, "__anext__") or hasattr(kind, "__aiter__")
    if not hasattr(kind, "__getattr__"):
        _async_kinds[kind] = found
    return found


_async_kinds: dict[type, bool] = {}


# wrap() and watch() are Call's wrap_stream() and watch_iterator() themselves (one call
# fewer before a stream's first chunk): the call comes first


def wrap(
    call: Call, stream: Any, keep: Keep | None = None, raw_body: list[Any] | None = None
) -> Any:
    """The proxy that fits ``stream``: async when it is an async iterator."""
    is_async = _async_kinds.get(type(stream))
    if is_async is None:
        is_async = _learn_async(stream)
    return (AsyncStreamProxy if is_async else StreamProxy)(stream, call, keep, raw_body)


def watch(
    call: Call, iterator: Any, keep: Keep | None = None, raw_body: list[Any] | None = None
) -> Watch | AsyncWatch:
    """The watch that fits ``iterator``: async when it is an async iterator."""
    is_async = _async_kinds.get(type(iterator))
    if is_async is None:
        is_async = _learn_async(iterator)
    return (AsyncWatch if is_async else Watch)(iterator, call, keep, raw_body)
