"""Watching an SDK stream in place, so that the caller gets the stream object itself.

In releases before 1.0, ``Stream`` and ``AsyncStream`` have a metaclass whose
``isinstance()`` is true only for the exact class (and for ``MessageStream``): a transparent
proxy, as the core's :meth:`~tracklm.integration.CallHandle.wrap_stream` returns, would fail
``isinstance(s, anthropic.Stream)``. So the stream is not wrapped: its event iterator is.
Every way of reading a ``Stream`` (``for``, ``next()``, the ``messages.stream()`` helpers on
top of it) pulls from its ``_iterator``, which becomes the core's proxy of that iterator: each
event is seen there, the first one times ``ttft_ms``, the end or an error of the iteration
finishes the call, and so does the proxy's collection with the stream when it is dropped
unfinished. ``close()`` - which leaving ``with`` calls, and the helpers' ``close()`` too -
finishes the call through a start hook on the class's ``close``, before the HTTP response is
closed.

The same holds for the ``MessageStream`` of releases before 0.43 (see :mod:`._legacy`).
"""

from __future__ import annotations

from typing import Any, Final

from tracklm.integration import CallHandle, Reader, Target, stream_call

_STREAM_CLASSES: Final = (
    ("anthropic._streaming", "Stream"),
    ("anthropic._streaming", "AsyncStream"),
)


def watch(call: CallHandle, stream: Any) -> Any:
    """Have the core see ``stream``'s events; returns ``stream`` itself."""
    if _watched(stream) is not None:  # a raw response's parse() gives the same stream again
        return stream
    iterator = getattr(stream, "_iterator", None)
    if iterator is None:  # a stream of another shape: the core's proxy (isinstance may fail)
        return call.wrap_stream(stream)
    stream._iterator = call.wrap_stream(iterator)
    return stream


def _watched(stream: Any) -> CallHandle | None:
    """The call of a stream :func:`watch` saw: its ``_iterator`` is the core's proxy."""
    return stream_call(getattr(stream, "__dict__", {}).get("_iterator"))


def finish(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a watched stream's ``close()``: finish its call with the events seen so far.

    A target's start hook that records nothing itself (it returns None)."""
    call = _watched(instance)
    if call is not None:
        call.done(None)


def targets(reader: Reader) -> list[Target]:
    """The ``close()`` of ``Stream`` and ``AsyncStream``."""
    return [Target(module, f"{cls}.close", finish, reader) for module, cls in _STREAM_CLASSES]
