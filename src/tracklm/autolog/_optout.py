"""Opting out of autolog: per context (a request, a task, a block) or for the whole process.

The flag lives in a ContextVar, so one task or request that opts out does not affect the ones
running beside it. ``TRACKLM_AUTOLOG_DISABLED=1`` is read at call time: it can be flipped
while the app runs.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from tracklm._config import getenv

__all__ = ["autolog_disabled", "is_disabled", "no_autolog"]

F = TypeVar("F", bound=Callable[..., Any])

_disabled: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tracklm_autolog_disabled", default=False
)
_TRUE = frozenset({"1", "true", "yes", "on"})


def is_disabled() -> bool:
    """True when calls in this context must not be recorded."""
    if _disabled.get():
        return True
    flag = getenv("TRACKLM_AUTOLOG_DISABLED")
    return flag is not None and flag.strip().lower() in _TRUE


@contextmanager
def autolog_disabled() -> Iterator[None]:
    """Record no LLM call made inside the block (in this thread or task only)::

    with tracklm.autolog_disabled():
        client.chat.completions.create(...)   # not recorded
    """
    token = _disabled.set(True)
    try:
        yield
    finally:
        _disabled.reset(token)


def no_autolog(fn: F) -> F:
    """Decorator: record no LLM call made while ``fn`` runs.

    Works on functions, coroutine functions, generators and async generators; for generators
    the opt-out holds while the generator's own code runs, not while its caller's does.
    """
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            agen = fn(*args, **kwargs)
            sent: Any = None
            while True:
                token = _disabled.set(True)
                try:
                    value = await agen.asend(sent)
                except StopAsyncIteration:
                    return
                finally:
                    _disabled.reset(token)
                sent = yield value

        return cast(F, async_gen_wrapper)
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            gen = fn(*args, **kwargs)
            sent: Any = None
            while True:
                token = _disabled.set(True)
                try:
                    value = gen.send(sent)
                except StopIteration as stop:
                    return stop.value
                finally:
                    _disabled.reset(token)
                sent = yield value

        return cast(F, gen_wrapper)
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _disabled.set(True)
            try:
                return await fn(*args, **kwargs)
            finally:
                _disabled.reset(token)

        return cast(F, async_wrapper)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _disabled.set(True)
        try:
            return fn(*args, **kwargs)
        finally:
            _disabled.reset(token)

    return cast(F, wrapper)
