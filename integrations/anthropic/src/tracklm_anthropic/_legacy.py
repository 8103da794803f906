"""``messages.stream()`` in releases before 0.43, whose helper does not iterate the request's
stream.

There, ``MessageStreamManager.__enter__`` makes the request and then builds its
``MessageStream`` from the response alone (a new ``Stream`` over the same HTTP response),
dropping the stream the request returned. The request's own stream watch would be finished
at once with nothing read, so for these helpers the call is recorded one level up:

- the request made by such a helper (its ``X-Stainless-Stream-Helper`` header names it) is
  not recorded by the ``request`` wrapper;
- the manager's ``__enter__`` / ``__aenter__`` is: its start reads the request the manager
  holds (the pending ``post`` call: a ``functools.partial``, or an unstarted coroutine), and
  the ``MessageStream`` it returns is watched in place as the request's ``Stream`` would be
  (the ``ResultHandler``'s ``watch_stream``): every
  way of reading the helper (iteration, ``text_stream``, ``until_done()``,
  ``get_final_message()``) goes through its event iterator;
- the helper's ``close()`` (also called when the manager's ``with`` ends) finishes the call.

The classes are found by name and checked by shape, so nothing here runs on current releases.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Mapping
from typing import Any, Final

from tracklm.integration import CallStart, Reader, Target
from tracklm.integration.stainless import ResultHandler, finish_watched
from tracklm_anthropic._providers import provider_of
from tracklm_anthropic._requests import snapshot

STREAM_HELPER_HEADER: Final = "X-Stainless-Stream-Helper"
# module -> (header value of its requests, [(stream class, its manager, the entering method)])
_HELPERS: Final = (
    (
        "anthropic.lib.streaming._messages",
        "messages",
        (
            ("MessageStream", "MessageStreamManager", "__enter__"),
            ("AsyncMessageStream", "AsyncMessageStreamManager", "__aenter__"),
        ),
    ),
    (
        "anthropic.lib.streaming._prompt_caching_beta_messages",
        "beta.prompt_caching.messages",
        (
            (
                "PromptCachingBetaMessageStream",
                "PromptCachingBetaMessageStreamManager",
                "__enter__",
            ),
            (
                "AsyncPromptCachingBetaMessageStream",
                "AsyncPromptCachingBetaMessageStreamManager",
                "__aenter__",
            ),
        ),
    ),
)

legacy_helpers: set[str] = set()
"""Header values of the helpers recorded here (their requests are not recorded again)."""


def targets(reader: Reader, handle: ResultHandler) -> list[Target]:
    """The targets for the old-style helpers of the installed release (none for current ones)."""
    found: list[Target] = []
    for module_name, header, classes in _HELPERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for stream_name, manager_name, enter in classes:
            stream_cls = getattr(module, stream_name, None)
            if not isinstance(stream_cls, type) or not _old_style(stream_cls):
                continue
            found += [
                Target(
                    module_name,
                    f"{manager_name}.{enter}",
                    _start_manager,
                    reader,
                    handle.watch_stream,
                ),
                Target(module_name, f"{stream_name}.close", finish_watched, reader),
            ]
            legacy_helpers.add(header)
    return found


def _old_style(stream_cls: type) -> bool:
    """Whether the helper builds its stream from the response instead of taking the
    request's stream (``raw_stream``)."""
    try:
        parameters = inspect.signature(stream_cls).parameters
    except (TypeError, ValueError):
        return False
    return "response" in parameters and "raw_stream" not in parameters


def _start_manager(
    instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> CallStart | None:
    """Before the manager makes its request: what the request is."""
    pending = _pending_post(instance)
    if pending is None:
        return None
    arguments, client = pending
    options = arguments.get("options")
    extra = options.get("extra_json") if isinstance(options, Mapping) else None
    request = snapshot(arguments.get("body"), extra)
    return CallStart("chat", request.model, request, stream=True, provider=provider_of(client))


def _pending_post(manager: Any) -> tuple[Mapping[str, Any], Any] | None:
    """The arguments of the ``post`` the manager will make, and the client making it."""
    for name, value in vars(manager).items():
        if not name.endswith("__api_request"):
            continue
        if isinstance(value, functools.partial):  # sync: partial(client.post, path, body=...)
            return value.keywords, getattr(value.func, "__self__", None)
        frame = getattr(value, "cr_frame", None)  # async: the coroutine of client.post(...)
        if frame is not None:
            arguments = dict(frame.f_locals)
            return arguments, arguments.get("self")
    return None
