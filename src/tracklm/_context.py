"""What is active in the current context: the stack of active runs.

It lives in a :class:`contextvars.ContextVar`, so each thread and each asyncio task has its
own: two requests served at once each log into their own run. A new thread starts with an
empty context; :func:`carry_context` hands the caller's context to work run in a thread pool.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from tracklm._fluent import ActiveRun

__all__ = ["active_runs", "carry_context"]

P = ParamSpec("P")
R = TypeVar("R")

active_runs: contextvars.ContextVar[tuple[ActiveRun, ...]] = contextvars.ContextVar(
    "tracklm_active_runs", default=()
)


def carry_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Return ``fn`` bound to a copy of the current context (its active run included).

    Threads do not inherit the context of the code that starts them; wrap the callable you
    hand to a thread pool so that it logs into the caller's run::

        with tracklm.start_run():
            with ThreadPoolExecutor() as pool:
                pool.map(tracklm.carry_context(score), prompts)
    """
    context = contextvars.copy_context()

    @functools.wraps(fn)
    def run_in_context(*args: P.args, **kwargs: P.kwargs) -> R:
        # a Context cannot be entered by two threads at once: each call gets its own copy
        return context.copy().run(fn, *args, **kwargs)

    return run_in_context
