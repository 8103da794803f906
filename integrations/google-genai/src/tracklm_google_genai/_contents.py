"""Gemini contents and parts as chat messages, the shape of the rows' ``inputs``.

The SDK takes ``contents`` as a string, a part, a ``Content``, or a list of those (as models
or dicts), and answers with candidates whose ``content`` holds parts. They are read here into
the messages an OpenAI chat row holds, so rows of both compare and the core's OpenTelemetry
content attributes understand them:

- a message is ``{"role", "content"}``: ``user``, ``assistant`` (Gemini's ``model``),
  ``system`` (the ``system_instruction``) or ``tool`` (a ``function_response``);
- ``content`` is the text when the parts are only text (joined, as the SDK's
  ``response.text`` joins them), else a list of typed parts, in order
  (``{"type": "text", "text"}``, ``{"type": "blob", "mime_type", "data": "<n bytes>"}``,
  ``{"type": "file", "mime_type", "uri"}``...), None when there are none;
- function calls are ``tool_calls`` of the message (``{"id", "name", "arguments"}``), and
  thought summaries its ``thoughts``, kept apart from the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from tracklm_google_genai._values import fields, get, is_model, plain, snake

_ROLES: Final = {"model": "assistant"}
# part fields that Turn reads itself; a part with any other field is kept as a typed dict
_KNOWN_PARTS: Final = frozenset(
    {"text", "thought", "thought_signature", "function_call", "function_response"}
)
# what names such a part, before any other field (video_metadata, media_resolution...)
_PART_KINDS: Final = ("executable_code", "code_execution_result", "tool_call", "tool_response")


def is_content(item: Any) -> bool:
    """A ``Content`` (model or dict: it has ``parts`` or a ``role``), not a part."""
    if isinstance(item, Mapping):
        return "parts" in item or "role" in item
    return hasattr(item, "parts") and hasattr(item, "role")


def messages(contents: Any, system: Any = None) -> list[dict[str, Any]]:
    """The chat messages of a request: the system instruction first, then ``contents``
    grouped as the SDK groups them (consecutive parts make one user message)."""
    found: list[dict[str, Any]] = []
    if system is not None:
        found.extend(_message("system", parts_of(system)))
    items = contents if isinstance(contents, (list, tuple)) else [contents]
    loose: list[Any] = []
    for item in items:
        if is_content(item) or isinstance(item, (list, tuple)):
            if loose:
                found.extend(_message("user", loose))
                loose = []
            role = get(item, "role", "user") if is_content(item) else "user"
            found.extend(_message(str(role), parts_of(item)))
        elif item is not None:
            loose.append(item)
    if loose:
        found.extend(_message("user", loose))
    return found


def parts_of(value: Any) -> list[Any]:
    """The parts of a string, part, ``Content`` or list of them."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [part for item in value for part in parts_of(item)]
    if is_content(value):
        return list(get(value, "parts", []))
    return [value]


def text_of(value: Any) -> Any:
    """The text of a content or part for an embedding's inputs (its parts if not text)."""
    turn = Turn()
    turn.add(parts_of(value))
    return turn.content()


class Turn:
    """What one message (or one candidate, or one candidate's streamed chunks) holds."""

    __slots__ = ("calls", "items", "responses", "thoughts")

    def __init__(self) -> None:
        # text and other parts, in order; consecutive texts as one list of pieces until read
        # (joined once: a stream of thousands of chunks is not copied at each)
        self.items: list[dict[str, Any]] = []
        self.thoughts: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []

    def add(self, parts: Iterable[Any]) -> None:
        for part in parts:
            found = None if isinstance(part, str) else fields(part)
            text = part if found is None else found.get("text")
            if isinstance(text, str):
                if found is not None and found.get("thought"):
                    self.thoughts.append(text)
                elif self.items and self.items[-1]["type"] == "text":
                    self.items[-1]["text"].append(text)
                else:
                    self.items.append({"type": "text", "text": [text]})
                continue
            call = get(part, "function_call")
            response = get(part, "function_response")
            if call is not None:
                self.calls.append(tool_call(call))
            elif response is not None:
                self.responses.append(
                    {
                        "role": "tool",
                        "tool_call_id": get(response, "id"),
                        "name": get(response, "name"),
                        "content": plain(get(response, "response")),
                    }
                )
            elif _has_other_field(part):  # not a bare thought signature
                self.items.append(_part(part))

    def content(self) -> Any:
        """The text when there is only text, else the typed parts (None when empty)."""
        items = [
            {"type": "text", "text": "".join(item["text"])} if item["type"] == "text" else item
            for item in self.items
        ]
        if not items:
            return None
        if len(items) == 1 and items[0]["type"] == "text":
            return items[0]["text"]
        return items

    def output(self) -> Any:
        """A candidate's output: its text, or a dict when it called tools or thought."""
        content = self.content()
        if not self.calls and not self.thoughts:
            return content
        output: dict[str, Any] = {}
        if content is not None:
            output["content"] = content
        if self.calls:
            output["tool_calls"] = self.calls
        if self.thoughts:
            output["thoughts"] = "".join(self.thoughts)
        return output


def tool_call(call: Any) -> dict[str, Any]:
    """A function call as ``{"id", "name", "arguments"}`` (the arguments as given)."""
    return {"id": get(call, "id"), "name": get(call, "name"), "arguments": plain(get(call, "args"))}


def _message(role: str, parts: list[Any]) -> list[dict[str, Any]]:
    turn = Turn()
    turn.add(parts)
    found: list[dict[str, Any]] = []
    content = turn.content()
    if content is not None or turn.calls or turn.thoughts or not turn.responses:
        message: dict[str, Any] = {"role": _ROLES.get(role, role), "content": content}
        if turn.calls:
            message["tool_calls"] = turn.calls
        if turn.thoughts:
            message["thoughts"] = "".join(turn.thoughts)
        found.append(message)
    found.extend(turn.responses)
    return found


def _has_other_field(part: Any) -> bool:
    if isinstance(part, Mapping):
        names = {snake(str(k)) for k, v in part.items() if v is not None}
    elif is_model(part):
        names = {k for k in part.model_fields_set if getattr(part, k, None) is not None}
    else:  # a PIL image, or anything else the SDK converts into a part
        return True
    return bool(names - _KNOWN_PARTS)


def _part(part: Any) -> dict[str, Any]:
    """A part other than text or a function call or response, as a typed dict."""
    blob = get(part, "inline_data")
    if blob is not None:
        data = get(blob, "data", b"")
        size = f"<{len(data)} base64 characters>" if isinstance(data, str) else plain(data)
        return {"type": "blob", "mime_type": get(blob, "mime_type"), "data": size}
    file = get(part, "file_data")
    if file is not None:
        return {"type": "file", "mime_type": get(file, "mime_type"), "uri": get(file, "file_uri")}
    if type(part).__name__ == "File":  # an uploaded file (types.File) given as a part
        return {"type": "file", "mime_type": get(part, "mime_type"), "uri": get(part, "uri")}
    fields = plain(part) if isinstance(part, Mapping) or is_model(part) else None
    if isinstance(fields, dict) and fields:
        fields = {snake(k): v for k, v in fields.items()}
        others = [k for k in fields if k not in _KNOWN_PARTS] or list(fields)
        kind = next((k for k in _PART_KINDS if k in fields), others[0])
        value = fields[kind]
        return {"type": kind, **(value if isinstance(value, dict) else {"value": value})}
    return {"type": type(part).__name__}  # a PIL image, or anything else the SDK converts
