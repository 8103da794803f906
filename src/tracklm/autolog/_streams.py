"""Transparent proxies around an SDK's stream that see each chunk and finish the call once.

The proxy is a ``wrapt.ObjectProxy``, so ``isinstance(s, openai.Stream)`` holds and every
attribute (``response``, ``close``...) is the stream's own. Per chunk it only appends the
chunk (or what the integration's ``keep`` makes of it) to the call's list and, for the first,
notes the time; the chunks are read on tracklm's background thread. Where the integration
keeps the stream's raw body instead (:meth:`~tracklm.integration.CallHandle.keep_raw_body`),
the proxy keeps no chunk.

The call is finished exactly once: when iteration ends or fails, on ``close()``, on leaving
``with``, or when the proxy is garbage collected unfinished.
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


class _Watch:
    """What a proxy reads at every chunk, in one object: an attribute of a ``wrapt`` proxy
    costs several times one of a slot, and a proxy reads this one only."""

    __slots__ = ("call", "chunks", "iterator", "keep")

    def __init__(self, call: Call, keep: Keep | None) -> None:
        self.call = call
        self.chunks = None if call.raw_body else call.chunks
        self.keep = keep
        self.iterator: Any = None


class StreamProxy(wrapt.ObjectProxy[Any]):
    """A synchronous stream (iterator, or iterable) of chunks."""

    def __init__(self, wrapped: Any, call: Call, keep: Keep | None) -> None:
        super().__init__(wrapped)
        self._self_watch = _Watch(call, keep)

    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        watch = self._self_watch  # written out here: this runs for every chunk
        iterator = watch.iterator
        if iterator is None:
            wrapped = self.__wrapped__
            iterator = wrapped if hasattr(type(wrapped), "__next__") else iter(wrapped)
            watch.iterator = iterator
        call = watch.call
        try:
            chunk = next(iterator)
        except StopIteration:
            call.stream_ended(None)
            raise
        except BaseException as exc:
            call.stream_ended(exc)
            raise
        if not call.finished:  # read after close(): the record is gone to the flusher already
            if call.ttft_ns is None:
                call.ttft_ns = perf_counter_ns()
            chunks = watch.chunks
            if chunks is not None:
                keep = watch.keep
                if keep is None:
                    chunks.append(chunk)
                else:  # written out here rather than in a function: a call per chunk costs
                    try:
                        chunks.append(keep(chunk))
                    except Exception as exc:  # the integration's code: keep the chunk itself
                        internal_error("reducing a stream's chunk failed", exc)
                        chunks.append(chunk)
        return chunk

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

    def __del__(self) -> None:
        self._self_watch.call.stream_ended(None, closed=True)


class AsyncStreamProxy(wrapt.ObjectProxy[Any]):
    """An asynchronous stream (async iterator) of chunks."""

    def __init__(self, wrapped: Any, call: Call, keep: Keep | None) -> None:
        super().__init__(wrapped)
        self._self_watch = _Watch(call, keep)

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        watch = self._self_watch
        call = watch.call
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            call.stream_ended(None)
            raise
        except BaseException as exc:
            call.stream_ended(exc)
            raise
        if not call.finished:
            if call.ttft_ns is None:
                call.ttft_ns = perf_counter_ns()
            chunks = watch.chunks
            if chunks is not None:
                keep = watch.keep
                if keep is None:
                    chunks.append(chunk)
                else:  # written out here rather than in a function: a call per chunk costs
                    try:
                        chunks.append(keep(chunk))
                    except Exception as exc:  # the integration's code: keep the chunk itself
                        internal_error("reducing a stream's chunk failed", exc)
                        chunks.append(chunk)
        return chunk

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

    def __del__(self) -> None:
        self._self_watch.call.stream_ended(None, closed=True)


def stream_call(stream: Any) -> Call | None:
    """The call of a proxy made by :func:`wrap`; None for anything else."""
    if type(stream) in (StreamProxy, AsyncStreamProxy):  # type() sees the proxy, not the SDK's
        return stream._self_watch.call  # type: ignore[no-any-return]
    return None


def wrap(stream: Any, call: Call, keep: Keep | None = None) -> Any:
    """The proxy that fits ``stream``: async when it is an async iterator."""
    if hasattr(stream, "__anext__") or hasattr(type(stream), "__aiter__"):
        return AsyncStreamProxy(stream, call, keep)
    return StreamProxy(stream, call, keep)
