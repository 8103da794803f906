"""The wrapper put around every target: record the call, change nothing about it.

The SDK method is always called with the caller's own arguments, its return value is handed
back as is (or as a transparent stream proxy), and its exception is re-raised as the same
object. tracklm's own work is shielded: an error in it is logged once and the call goes on.

This is the user's hot path: each step is written out here rather than spread over small
functions, as every Python call made on it costs time on every LLM call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from tracklm.autolog import _options, _optout
from tracklm.autolog._calls import LATER, Call
from tracklm.autolog._shield import internal_error
from tracklm.integration import Target

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]


def make(integration: str, target: Target, original: Any) -> Wrapper:
    """A wrapt wrapper for ``target`` (async when the original is a coroutine function)."""
    target_start = target.start
    start_later = target.start_later
    on_result = target.on_result
    reader = target.reader

    def begin(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
        options = _options.current
        if options is None or _optout.is_disabled():
            return None
        try:
            if start_later:
                return Call(
                    integration, target_start, LATER, reader, options, instance, args, kwargs
                )
            made = target_start(instance, args, kwargs)
            if made is None:
                return None
            return Call(integration, target_start, made, reader, options, None, None, None)
        except Exception as exc:
            internal_error(f"starting to record a {integration} call failed", exc)
            return None

    def finish(call: Call, value: Any) -> Any:
        """The span left, the result recorded; what the caller gets."""
        if call.span is not None:
            _leave(call)
        try:
            handed = on_result(call, value)
            if not call.finished:
                call.returned()
            return handed
        except Exception as exc:
            internal_error(f"recording a {integration} call's result failed", exc)
            return value

    def failed(call: Call, error: BaseException) -> None:
        if call.span is not None:
            _leave(call)
        try:
            call.fail(error)
        except Exception as exc:
            internal_error(f"recording a {integration} call's error failed", exc)

    if inspect.iscoroutinefunction(original):

        async def async_wrapper(
            wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            call = begin(instance, args, kwargs)
            if call is None:
                return await wrapped(*args, **kwargs)
            try:
                value = await wrapped(*args, **kwargs)
            except BaseException as error:
                failed(call, error)
                raise
            return finish(call, value)

        return async_wrapper

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = begin(instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            value = wrapped(*args, **kwargs)
        except BaseException as error:
            failed(call, error)
            raise
        return finish(call, value)

    return wrapper


def _leave(call: Call) -> None:
    try:
        call.span.leave()  # type: ignore[union-attr]
    except Exception as exc:
        internal_error("leaving a span failed", exc)
