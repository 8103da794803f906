"""Reading a request: its inputs (messages, prompt, input) and its parameters.

The wrapped method receives the SDK's final request options, whose ``json_data`` is the body
the SDK built from the caller's arguments (sentinels such as ``NOT_GIVEN`` / ``omit`` already
left out) and whose ``extra_json`` holds ``extra_body``: sampling parameters that
OpenAI-compatible servers take (``top_k``, ``min_p``, ``repetition_penalty``) arrive there.
"""

from __future__ import annotations

from typing import Any, Final

from tracklm.integration import RequestInfo
from tracklm_openai._values import get, plain

INPUT_KEYS: Final = {
    "chat": "messages",
    "completion": "prompt",
    "embedding": "input",
    "responses": "input",
}
# request fields that are not parameters of the call
_NOT_PARAMS: Final = frozenset({"messages", "prompt", "input", "stream", "tools", "functions"})


def body_of(options: Any) -> dict[str, Any]:
    """The JSON body of a request, ``extra_body`` merged in (it wins, as on the wire)."""
    body = get(options, "json_data")
    merged = dict(body) if isinstance(body, dict) else {}
    extra = get(options, "extra_json")
    if isinstance(extra, dict):
        merged.update(extra)
    return merged


class Request:
    """What the caller's thread keeps of a request: its options and its operation."""

    __slots__ = ("operation", "options")

    def __init__(self, operation: str, options: Any) -> None:
        self.operation = operation
        self.options = options


def read_request(request: Request) -> RequestInfo:
    body = body_of(request.options)
    inputs = plain(body.get(INPUT_KEYS[request.operation]))
    params = {k: plain(v) for k, v in body.items() if k not in _NOT_PARAMS}
    tools = body.get("tools") or body.get("functions")
    if tools:
        params["tools"] = [_tool_name(t) for t in tools]
    return RequestInfo(inputs=inputs, params=params)


def _tool_name(tool: Any) -> Any:
    function = get(tool, "function")
    return get(function, "name") or get(tool, "name") or get(tool, "type")
