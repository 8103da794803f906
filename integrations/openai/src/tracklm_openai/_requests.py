"""Reading a request: its inputs (messages, prompt, input) and its parameters.

The wrapped method receives the SDK's final request options. Their ``json_data`` is the body
the SDK built from the caller's arguments for this call alone (containers copied, sentinels
such as ``NOT_GIVEN`` / ``omit`` left out), and their ``extra_json`` is ``extra_body``:
sampling parameters that OpenAI-compatible servers take (``top_k``, ``min_p``,
``repetition_penalty``) arrive there. Both are kept by reference on the caller's thread and
read here, on tracklm's thread.

Parameters are what the caller gave, so what the SDK adds on its own is left out:
``embeddings.create`` asks for ``encoding_format: "base64"`` when the caller named no format
(it decodes the vectors itself), which :func:`_sdk_chose_base64` recognizes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, Final

from tracklm.integration import RequestInfo
from tracklm.integration.stainless import Request as _StainlessRequest
from tracklm.integration.values import get, is_sentinel, plain

INPUT_KEYS: Final = {
    "chat": "messages",
    "completion": "prompt",
    "embedding": "input",
    "responses": "input",
}
# request fields that are not parameters of the call
_NOT_PARAMS: Final = frozenset({"messages", "prompt", "input", "stream", "tools", "functions"})


class Request(_StainlessRequest):
    """What the caller's thread keeps of a request (references only)."""

    __slots__ = ("operation", "post_parser")

    def __init__(
        self,
        operation: str,
        body: Any,
        extra: Any,
        post_parser: Callable[[Any], Any] | None,
    ) -> None:
        super().__init__(body, extra)
        self.operation = operation
        self.post_parser = post_parser


def read_request(request: Request) -> RequestInfo:
    body: dict[str, Any] = {}
    for part in (request.body, request.extra):  # extra_body wins, as on the wire
        if isinstance(part, Mapping):
            body.update((k, v) for k, v in part.items() if not is_sentinel(v))
    inputs = plain(body.get(INPUT_KEYS[request.operation]))
    params = {k: plain(v) for k, v in body.items() if k not in _NOT_PARAMS}
    tools = body.get("tools") or body.get("functions")
    if isinstance(tools, list) and tools:
        params["tools"] = [_tool_name(t) for t in tools]
    if params.get("encoding_format") == "base64" and _sdk_chose_base64(request.post_parser):
        del params["encoding_format"]
    return RequestInfo(inputs=inputs, params=params)


def _tool_name(tool: Any) -> Any:
    return get(get(tool, "function"), "name") or get(tool, "name") or get(tool, "type")


_PROBE_VECTOR: Final = base64.b64encode(b"\0\0\0\0").decode()  # one float32, 0.0


def _sdk_chose_base64(post_parser: Callable[[Any], Any] | None) -> bool:
    """Whether the SDK, not the caller, asked for base64 embeddings.

    The SDK decodes base64 vectors back into floats exactly when the caller named no format,
    and leaves them as text when the caller asked for base64: its response parser is given a
    one-vector probe to see which it does (no private attribute of the SDK is read).
    """
    if not callable(post_parser):
        return False
    probe = SimpleNamespace(data=[SimpleNamespace(embedding=_PROBE_VECTOR)])
    try:
        parsed = post_parser(probe)
        vector = get((get(parsed, "data") or [None])[0], "embedding")
    except Exception:  # another SDK release, another parser: keep what was sent
        return False
    return vector is not None and not isinstance(vector, str)
