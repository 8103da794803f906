"""What every echo endpoint shares: reading the prompt, the reply text, tool calls, tokens."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CREATED",
    "ToolCall",
    "count_tokens",
    "last_user_text",
    "requested_tool_calls",
    "split_words",
    "text_of",
]

CREATED = 1_700_000_000
"""The ``created`` timestamp of every echo response, so that responses are reproducible."""

_CALL = re.compile(r"\bcall\s+([A-Za-z_][\w.-]*)")
_PLACEHOLDERS: Mapping[str, Any] = {
    "string": "echo",
    "integer": 0,
    "number": 0,
    "boolean": False,
    "array": [],
    "object": {},
    "null": None,
}


@dataclass(frozen=True)
class ToolCall:
    """A function call the echo model makes: a tool name and its JSON-encoded arguments."""

    name: str
    arguments: str


def text_of(content: Any) -> str:
    """The text of a message content: a string, or the ``text`` of each part of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def last_user_text(messages: Any) -> str:
    """The text of the last ``user`` message of a list (a string is itself the message)."""
    if isinstance(messages, str):
        return messages
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, Mapping) and message.get("role") == "user":
                return text_of(message.get("content"))
    return ""


def split_words(text: str) -> list[str]:
    """The echo model's tokens: words, each after the first with its leading space.

    ``"".join(split_words(text)) == text``.
    """
    first, *rest = text.split(" ")
    return [first, *(" " + word for word in rest)]


def count_tokens(*texts: str) -> int:
    """Token count as the echo model counts it: whitespace-separated words."""
    return sum(len(text.split()) for text in texts)


def requested_tool_calls(text: str, tools: Any) -> list[ToolCall]:
    """The calls a prompt asks for with ``call <tool name>``, for tools the request declares.

    The arguments are the JSON object right after the name (``call get_weather {"city":
    "Paris"}``) if there is one, else placeholder values for the parameters the tool's schema
    requires (all its parameters if it lists none as required).
    """
    schemas = _function_schemas(tools)
    calls: list[ToolCall] = []
    for match in _CALL.finditer(text):
        name = match.group(1).rstrip(".")
        if name not in schemas:
            continue
        arguments = _inline_arguments(text, match.end())
        if arguments is None:
            arguments = _placeholder_arguments(schemas[name])
        calls.append(ToolCall(name, json.dumps(arguments)))
    return calls


def _function_schemas(tools: Any) -> dict[str, Any]:
    """Function name -> parameters schema, for Chat Completions and Responses tool lists."""
    schemas: dict[str, Any] = {}
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            continue
        function = tool.get("function", tool)
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            schemas[function["name"]] = function.get("parameters") or {}
    return schemas


def _inline_arguments(text: str, start: int) -> dict[str, Any] | None:
    brace = text.find("{", start)
    if brace < 0 or text[start:brace].strip() not in ("", "with"):
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, brace)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _placeholder_arguments(schema: Any) -> dict[str, Any]:
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return {}
    required = schema.get("required")
    names = required if isinstance(required, list) else list(properties)
    arguments: dict[str, Any] = {}
    for name in names:
        spec = properties.get(name)
        spec = spec if isinstance(spec, Mapping) else {}
        enum = spec.get("enum")
        kind = spec.get("type")
        if isinstance(enum, list) and enum:
            arguments[name] = enum[0]
        else:
            arguments[name] = _PLACEHOLDERS.get(kind if isinstance(kind, str) else "string")
    return arguments
