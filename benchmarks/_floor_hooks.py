"""The least an instrumentation can do: wrappers to measure tracklm against (``--floor`` of
``bench_autolog_overhead.py``, ``bench_instructions.py``).

Each is a ``wrapt`` wrapper for the method tracklm wraps on Stainless clients (``request``):

* ``wrapper``: only calls it;
* ``wrapper+proxy``: returns a stream in a transparent proxy that notes the first chunk's time;
* ``wrapper+decoder``: returns the SDK's own stream with only its SSE decoder wrapped to note
  when the first bytes arrive (no proxy: the least that still sees a stream's content).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import wrapt

Wrapper = Callable[[Any, Any, Any, Any], Any]
_clock = time.perf_counter_ns


class _FirstChunk(wrapt.ObjectProxy):  # type: ignore[type-arg]
    def __init__(self, wrapped: Any) -> None:
        super().__init__(wrapped)
        self._self_first: int | None = None

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        chunk = next(self.__wrapped__)
        if self._self_first is None:
            self._self_first = _clock()
        return chunk


class _FirstBytes:  # the stream's SSE decoder, noting when its first bytes arrive
    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.first: int | None = None

    def iter_bytes(self, iterator: Any) -> Any:
        return self.decoder.iter_bytes(self._noting(iterator))

    def _noting(self, iterator: Any) -> Any:
        for piece in iterator:
            if self.first is None:
                self.first = _clock()
            yield piece

    def __getattr__(self, name: str) -> Any:
        return getattr(self.decoder, name)


def _wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    return wrapped(*args, **kwargs)


def _proxying(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    result = wrapped(*args, **kwargs)
    return _FirstChunk(result) if kwargs.get("stream") else result


def _decoding(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    result = wrapped(*args, **kwargs)
    if kwargs.get("stream"):
        result._decoder = _FirstBytes(result._decoder)
    return result


HOOKS: dict[str, Wrapper] = {
    "wrapper": _wrapper,
    "wrapper+proxy": _proxying,
    "wrapper+decoder": _decoding,
}
