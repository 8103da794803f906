"""Reading a request: its inputs (the contents, after the system instruction) and its params.

The caller's thread keeps a :class:`Request`: the ``model``, ``contents`` and ``config``
arguments, with the containers the caller may change later copied shallowly (a chat's
history list, a config dict or model reused with another temperature). Everything else is
read here, on tracklm's background thread.

Params are the config's fields the caller set (a model's ``model_fields_set``, a dict's keys;
None values are left out), so the SDK's defaults are never params:

- ``system_instruction`` is not a param but the first message of the inputs (``role:
  system``), as a system message is in an OpenAI chat row;
- ``thinking_config`` is flattened into ``thinking_budget``, ``thinking_level`` and
  ``include_thoughts``;
- ``top_k``, a float in the SDK's model, is an int when it is a whole number (as given);
- ``tools`` are listed by name (function declarations, Python functions, built-in tools
  such as ``google_search``);
- what configures the SDK or the transport rather than the model is left out:
  ``http_options`` (headers, possibly a key), ``automatic_function_calling``,
  ``automatic_continuation``, ``continuation_token`` and ``should_return_http_response``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tracklm.integration import RequestInfo
from tracklm_google_genai._contents import messages, text_of
from tracklm_google_genai._values import fields_set, get, is_model, plain

_NOT_PARAMS: Final = frozenset(
    {
        "system_instruction",
        "http_options",
        "automatic_function_calling",
        "automatic_continuation",
        "continuation_token",
        "should_return_http_response",
        "abort_signal",
        "tools",
        "thinking_config",
    }
)


class Request:
    """What the caller's thread keeps of one call (references and shallow copies)."""

    __slots__ = ("config", "contents", "model", "operation")

    def __init__(self, operation: str, model: Any, contents: Any, config: Any) -> None:
        self.operation = operation
        self.model = model
        self.contents = contents
        self.config = config


def read_request(request: Request) -> RequestInfo:
    fields = fields_set(request.config)
    params: dict[str, Any] = {}
    if request.model is not None:
        params["model"] = plain(request.model)
    params.update((k, plain(v)) for k, v in fields.items() if k not in _NOT_PARAMS)
    params.update((k, plain(v)) for k, v in fields_set(fields.get("thinking_config")).items())
    top_k = params.get("top_k")
    if isinstance(top_k, float) and top_k.is_integer():  # the SDK's model makes 40 a 40.0
        params["top_k"] = int(top_k)
    tools = fields.get("tools")
    if isinstance(tools, list) and tools:
        params["tools"] = [name for tool in tools for name in _tool_names(tool)]
    if request.operation == "embedding":
        contents = request.contents
        inputs = [text_of(c) for c in contents] if isinstance(contents, list) else text_of(contents)
    else:
        inputs = messages(request.contents, fields.get("system_instruction"))
    return RequestInfo(inputs=inputs, params=params)


def _tool_names(tool: Any) -> list[Any]:
    """The names a tool declares: its functions', or the built-in tool's (``google_search``)."""
    if not isinstance(tool, Mapping) and not is_model(tool):  # a Python function, an MCP session
        return [getattr(tool, "__name__", type(tool).__name__)]
    declarations = get(tool, "function_declarations")
    if declarations:
        return [get(d, "name") for d in declarations]
    return [key for key in fields_set(tool) if key != "function_declarations"]
