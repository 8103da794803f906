"""A logged prompt or response as something to read: a conversation, text, or laid-out JSON.

Autolog's ``inputs`` hold the chat messages in OpenAI's shape (other SDKs' integrations write
the same shape); ``outputs`` hold text, or JSON for tool calls and structured answers. Any
other value is shown as text or as JSON, never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tracklm.ui.formatting import cell, parse_json, pretty

__all__ = ["Block", "Message", "input_preview", "read_inputs", "read_outputs"]

_TEXT_TYPES = ("text", "input_text", "output_text")


@dataclass(frozen=True)
class Block:
    """A piece of a message: text, laid-out JSON, or a tool call (``label`` is its name)."""

    kind: Literal["text", "json", "tool_call"]
    text: str
    label: str = ""


@dataclass(frozen=True)
class Message:
    """One turn of a conversation."""

    role: str
    blocks: list[Block] = field(default_factory=list)
    name: str = ""


def read_inputs(value: Any) -> list[Message]:
    """The messages of an ``inputs`` cell; a value that is no conversation is one message
    of role ``input``."""
    data = _parsed(value)
    if isinstance(data, Mapping) and isinstance(data.get("messages"), list):
        system = data.get("system")
        turns = ([{"role": "system", "content": system}] if system else []) + data["messages"]
        data = turns
    if isinstance(data, list) and data and all(_is_message(m) for m in data):
        return [_message(m) for m in data]
    if value is None:
        return []
    return [Message("input", [_block(data)])]


def read_outputs(value: Any) -> list[Block]:
    """The blocks of an ``outputs`` cell: its text, its tool calls, or its JSON laid out."""
    if value is None:
        return []
    data = _parsed(value)
    if isinstance(data, Mapping) and isinstance(data.get("tool_calls"), list):
        blocks = [_block(data[k]) for k in ("content", "text") if data.get(k)]
        return blocks + [_tool_call(call) for call in data["tool_calls"]]
    if _is_message(data):
        return _message(data).blocks
    return [_block(data)]


def input_preview(value: Any) -> str:
    """A one-line preview of an ``inputs`` cell: the last user message's text, if any."""
    messages = read_inputs(value)
    users = [m for m in messages if m.role == "user"] or messages
    if not users:
        return ""
    texts = [b.text for b in users[-1].blocks if b.kind == "text"]
    return cell(" ".join(texts) if texts else cell(value))


def output_preview(value: Any) -> str:
    """A one-line preview of an ``outputs`` cell (tool calls as ``name(arguments)``)."""
    parts = []
    for block in read_outputs(value):
        if block.kind == "tool_call":
            parts.append(f"{block.label}({' '.join(block.text.split())})")
        else:
            parts.append(block.text)
    return cell(" ".join(parts))


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        parsed = parse_json(value)
        return value if parsed is None else parsed
    return value


def _is_message(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("role"), str)


def _message(data: Mapping[str, Any]) -> Message:
    blocks: list[Block] = []
    content = data.get("content", data.get("parts"))
    if isinstance(content, list):
        blocks += [_content_block(part) for part in content]
    elif content is not None:
        blocks.append(_block(content))
    for call in data.get("tool_calls") or []:
        blocks.append(_tool_call(call))
    if data.get("tool_call_id"):
        blocks.insert(0, Block("text", f"result of tool call {data['tool_call_id']}", "tool"))
    return Message(str(data["role"]), blocks, str(data.get("name") or ""))


def _content_block(part: Any) -> Block:
    if isinstance(part, Mapping):
        kind = part.get("type")
        if isinstance(part.get("text"), str) and (kind in _TEXT_TYPES or kind is None):
            return Block("text", part["text"])
        if kind == "tool_use" or isinstance(part.get("function_call"), Mapping):
            call: Mapping[str, Any] = part.get("function_call") or part
            return Block("tool_call", pretty(call.get("input", call.get("args"))), _name(call))
        if kind == "tool_result":
            inner = part.get("content")
            if isinstance(inner, list):
                inner = " ".join(
                    str(p.get("text", p)) if isinstance(p, Mapping) else str(p) for p in inner
                )
            return Block("text", pretty(inner), "tool result")
    return _block(part)


def _tool_call(call: Any) -> Block:
    if not isinstance(call, Mapping):
        return _block(call)
    inner = call.get("function")
    function: Mapping[str, Any] = inner if isinstance(inner, Mapping) else call
    arguments = function.get("arguments", function.get("input", function.get("args")))
    return Block("tool_call", pretty(arguments) if arguments is not None else "", _name(function))


def _name(call: Mapping[str, Any]) -> str:
    return str(call.get("name") or "tool")


def _block(value: Any) -> Block:
    if isinstance(value, str):
        return Block("text", value)
    if isinstance(value, (Mapping, list)):
        return Block("json", json.dumps(value, indent=2, ensure_ascii=False))
    return Block("text", pretty(value))
