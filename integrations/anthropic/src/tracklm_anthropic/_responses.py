"""Reading a Message, or the events of a streamed one, into ``ResponseInfo``.

A response arrives as the SDK's ``Message`` (``ParsedMessage`` from ``messages.parse``), as
JSON values or as a :class:`RawBody` the caller read; a stream as the SDK's event objects
(raw ``RawMessageStreamEvent`` s, or the richer events of an old release's stream helper),
or as raw pieces of its body (``iter_lines()``, ``iter_bytes()``...).

Outputs: the text when the answer is only text; else a dict with ``content`` (the text),
``tool_calls`` (``{"id", "name", "arguments"}``, as the OpenAI integration writes them; the
arguments are the tool's ``input``) and ``thinking`` (the thinking blocks' text, apart from
the answer; redacted thinking, being encrypted, is left out), each present only when there
is some.

Tokens follow what the API defines: its ``input_tokens`` counts only the input after the last
cache breakpoint, so the row's ``input_tokens`` is ``input_tokens +
cache_creation_input_tokens + cache_read_input_tokens`` (every input token of the request,
as for the other providers and in the GenAI semantic conventions), ``cached_input_tokens``
is ``cache_read_input_tokens`` and ``total_tokens`` is that input plus ``output_tokens``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from tracklm.integration import ResponseInfo, Usage
from tracklm.integration.values import RawBody, body_text, fields, get, plain, sse_data

# content blocks that are a call of a tool (the caller's, or one the API runs itself)
_TOOL_USES: Final = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
_USAGE_FIELDS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens_details",
)


def read_message(response: Any) -> ResponseInfo:
    """Read a whole response."""
    if isinstance(response, RawBody):
        response = response.json()
    part = fields(response)  # the model's fields read at once, as a stream's events are
    if response is None or part.get("type") == "error":
        return ResponseInfo()
    reason = part.get("stop_reason")
    return ResponseInfo(
        outputs=_outputs(part.get("content") or []),
        usage=_usage(part.get("usage")),
        response_model=part.get("model"),
        response_id=part.get("id"),
        finish_reasons=[reason] if reason else [],
    )


def read_events(events: list[Any], separator: str | None = None) -> ResponseInfo:
    """Read a stream from its events: the SDK's objects, or raw pieces of the body joined by
    ``separator`` (``"\\n"`` for lines). A stream cut short gives what came so far."""
    if events and isinstance(events[0], (bytes, str)):
        text = body_text(events, separator)
        events = list(sse_data(text))
        if not events:  # a body that was not a stream, read piece by piece
            return read_message(RawBody(text))
    message: Any = None
    usage: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    # each block's streamed text, thinking and tool input, as pieces joined once at the end
    pieces: dict[int, dict[str, list[str]]] = {}
    reason = None
    for event in events:  # read straight from each event's fields: there may be thousands
        part = fields(event)
        kind = part.get("type")
        if kind == "content_block_delta":
            found = pieces.get(part.get("index") or 0)
            if found is not None:  # (a delta before its block started has no block)
                delta = fields(part.get("delta"))
                field = _DELTA_FIELDS.get(delta.get("type"))
                if field is not None:
                    found[field].append(delta.get(field) or "")
        elif kind == "content_block_start":
            block = plain(part.get("content_block"))
            if isinstance(block, dict):
                index = part.get("index") or 0
                blocks[index] = block
                pieces[index] = {"text": [], "thinking": [], "partial_json": []}
        elif kind == "message_start":
            message = part.get("message")
            # its output_tokens is a placeholder (1 or so): the count is message_delta's
            _merge_usage(usage, get(message, "usage"), skip="output_tokens")
        elif kind == "message_delta":
            reason = get(part.get("delta"), "stop_reason") or reason
            _merge_usage(usage, part.get("usage"))
    content = [_finish_block(blocks[i], pieces[i]) for i in sorted(blocks)]
    return ResponseInfo(
        outputs=_outputs(content),
        usage=_usage(usage) if usage else Usage(),
        response_model=get(message, "model"),
        response_id=get(message, "id"),
        finish_reasons=[reason] if reason else [],
    )


# a delta's type -> the field it streams
_DELTA_FIELDS: Final = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}


def _finish_block(block: dict[str, Any], pieces: dict[str, list[str]]) -> dict[str, Any]:
    """A streamed block as the API would have returned it whole: its text (or thinking) with
    the streamed pieces added, tool input parsed from its JSON pieces (kept as text if the
    stream was cut inside it)."""
    for field in ("text", "thinking"):
        if pieces[field]:
            block[field] = block.get(field, "") + "".join(pieces[field])
    partial_json = "".join(pieces["partial_json"])
    if partial_json:
        try:
            block["input"] = json.loads(partial_json)
        except ValueError:
            block["input"] = partial_json
    return block


def _merge_usage(usage: dict[str, Any], update: Any, skip: str | None = None) -> None:
    """``message_start`` gives the input counts, each ``message_delta`` the output so far
    (and, in recent API versions, updated input counts)."""
    for name in _USAGE_FIELDS:
        value = get(update, name)
        if value is not None and name != skip:
            usage[name] = value


def _outputs(blocks: Any) -> Any:
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    parsed: Any = None
    for block in blocks or []:
        kind = get(block, "type")
        if kind == "text":
            texts.append(get(block, "text", ""))
            parsed = get(block, "parsed_output", parsed)  # messages.parse(output_format=...)
        elif kind == "thinking":
            thinking.append(get(block, "thinking", ""))
        elif kind in _TOOL_USES:
            calls.append(
                {
                    "id": get(block, "id"),
                    "name": get(block, "name"),
                    "arguments": plain(get(block, "input")),
                }
            )
    content = plain(parsed) if parsed is not None else ("".join(texts) or None)
    if not calls and not thinking:
        return content
    output: dict[str, Any] = {}
    if content is not None:
        output["content"] = content
    if calls:
        output["tool_calls"] = calls
    if thinking:
        output["thinking"] = "\n\n".join(thinking)
    return output


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    counts = fields(usage)
    uncached = counts.get("input_tokens")
    created = counts.get("cache_creation_input_tokens")
    read = counts.get("cache_read_input_tokens")
    output = counts.get("output_tokens")
    inputs = None if uncached is None else uncached + (created or 0) + (read or 0)
    return Usage(
        input_tokens=inputs,
        output_tokens=output,
        total_tokens=None if inputs is None or output is None else inputs + output,
        cached_input_tokens=read,
        reasoning_tokens=fields(counts.get("output_tokens_details")).get("thinking_tokens"),
        cache_creation_input_tokens=created,
    )
