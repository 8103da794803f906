"""Reading a Messages request: its inputs (``system`` and ``messages``) and its parameters.

The wrapped method receives the SDK's request options: ``json_data`` is the body built from
the caller's arguments, ``extra_json`` is ``extra_body``. Sampling parameters that recent SDK
releases dropped from ``messages.create``'s signature (``temperature``, ``top_p``,
``top_k``), and ``thinking`` in releases that predate it, arrive through ``extra_body``.

Depending on the release, ``json_data`` holds the caller's own objects (the ``messages``
list, even a generator) and is changed by the client afterwards (Bedrock and Vertex pop
``model`` from it). So :func:`snapshot` copies it on the caller's thread: the top level, and
each list in it (a chat loop appends the reply to its ``messages`` after the call). A
one-shot iterator cannot be copied without consuming it; it is replaced in the body by a
generator that yields the same items and keeps them as the SDK reads them, so the request
sent is the same and the row has what was sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import compress
from typing import Any, Final

from tracklm.integration import RequestInfo
from tracklm.integration.stainless import Request
from tracklm.integration.values import get, is_mapping, is_sentinel, plain

# request fields that are not parameters of the call: the inputs, and how it is delivered
_NOT_PARAMS: Final = frozenset({"messages", "system", "stream", "tools"})


def snapshot(body: Any, extra: Any) -> Request:
    """On the caller's thread: the request body and ``extra_body``, copied shallowly."""
    copied: dict[str, Any] = dict(body) if is_mapping(type(body)) else {}
    values = copied.values()
    if _known.issuperset(map(type, values)):
        # every kind met before (the usual case): copy the lists, found by C loops, not by a
        # Python step per value (current releases' bodies hold a sentinel for each parameter
        # not given: some twenty values)
        for key in compress(copied, map(_copied.__contains__, map(type, values))):
            copied[key] = list(copied[key])
    else:
        for key, value in copied.items():
            kind = type(value)
            if issubclass(kind, (list, tuple)):
                copied[key] = list(value)
                _copied.add(kind)
            elif issubclass(kind, Iterator):  # not learnt: each one is replaced
                if isinstance(body, dict):
                    seen: list[Any] = []
                    body[key] = _keeping(value, seen)
                    copied[key] = seen
                continue
            _known.add(kind)
    return Request(copied, dict(extra) if extra is not None and is_mapping(type(extra)) else {})


# the types of values met before, kept as they are (strings, numbers, the SDK's sentinels...)
# or copied as lists (_copied), learnt as they are met: the subclass checks of every value
# would cost microseconds per call
_copied: set[type] = {list, tuple}
_known: set[type] = {str, int, float, bool, dict, type(None), *_copied}


def _keeping(items: Iterable[Any], seen: list[Any]) -> Iterator[Any]:
    for item in items:
        seen.append(item)
        yield item


def read_request(request: Request) -> RequestInfo:
    """The row's inputs and the call's params, on tracklm's thread.

    ``inputs`` is the ``messages`` list, with ``system`` (a string or text blocks, as sent)
    first as a message of role ``system``: the shape of an OpenAI chat's inputs, kept out of
    the params because it is prompt text (long, private, cut by ``max_text_chars``, hidden by
    ``log_inputs=False``).
    """
    body = {
        k: v
        for part in (request.body, request.extra)  # extra_body wins, as on the wire
        for k, v in part.items()
        if not is_sentinel(v)
    }
    messages = plain(body.get("messages"))
    system = plain(body.get("system"))
    inputs = messages
    if system:
        inputs = [{"role": "system", "content": system}, *(messages or [])]
    params = {k: plain(v) for k, v in body.items() if k not in _NOT_PARAMS}
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        params["tools"] = [get(t, "name") or get(t, "type") for t in tools]
    budget = get(params.get("thinking"), "budget_tokens")
    if budget is not None:
        params["thinking_budget_tokens"] = budget
    return RequestInfo(inputs=inputs, params=params)
