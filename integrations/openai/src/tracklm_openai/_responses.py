"""Reading responses and streamed chunks of the four operations into ``ResponseInfo``.

A response arrives as the SDK's model (``ChatCompletion``, ``Response``...), as JSON values
(``.json()`` of a raw response) or as a :class:`RawBody` the caller read; a stream as the
SDK's chunk objects, or as the raw pieces of its body (``iter_lines()``, ``iter_bytes()``...).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from tracklm.integration import ResponseInfo, Usage
from tracklm.integration.values import RawBody, body_text, fields, get, plain, sse_data

_RESPONSES_END = frozenset({"response.completed", "response.incomplete", "response.failed"})


def read_response(operation: str, response: Any) -> ResponseInfo:
    """Read a whole response."""
    if isinstance(response, RawBody):
        response = response.json()
    if response is None:
        return ResponseInfo()
    if operation == "responses":
        return _responses_api(response)
    part = fields(response)
    if operation == "chat":
        outputs, reasons = _chat_choices(part.get("choices") or [])
    elif operation == "completion":
        choices = [fields(c) for c in part.get("choices") or ()]
        outputs = _one_or_list([c.get("text") for c in choices])
        reasons = [c.get("finish_reason") for c in choices]
    else:  # embedding: the vectors are data, not text worth a row
        data = part.get("data") or []
        first = fields(data[0]).get("embedding") if data else None
        dimensions = len(first) if isinstance(first, list) else None
        outputs, reasons = {"embeddings": len(data), "dimensions": dimensions}, []
    return ResponseInfo(
        outputs=outputs,
        usage=_usage(part.get("usage")),
        response_model=part.get("model"),
        response_id=part.get("id"),
        finish_reasons=[r for r in reasons if r],
    )


def read_chunks(operation: str, chunks: list[Any], separator: str | None = None) -> ResponseInfo:
    """Read a stream from its chunks: the SDK's objects, or raw pieces of the body joined by
    ``separator`` (``"\\n"`` for lines)."""
    if chunks and isinstance(chunks[0], (bytes, str)):
        text = body_text(chunks, separator)
        events = list(sse_data(text))
        if not events:  # a body that was not a stream, read piece by piece
            return read_response(operation, RawBody(text))
        chunks = events
    if operation == "responses":
        return _responses_events(chunks)
    return _completion_chunks(operation, chunks)


def _completion_chunks(operation: str, chunks: list[Any]) -> ResponseInfo:
    model = response_id = None
    usage = Usage()
    texts: dict[int, list[str]] = {}
    tools: dict[int, dict[int, dict[str, Any]]] = {}
    reasons: dict[int, str] = {}
    chat = operation == "chat"
    for chunk in chunks:  # read per chunk only what changes, straight from its fields
        part = fields(chunk)
        if model is None:
            model = part.get("model")
        if response_id is None:
            response_id = part.get("id")
        chunk_usage = part.get("usage")
        if chunk_usage is not None:
            usage = _usage(chunk_usage)
        for choice in part.get("choices") or ():
            choice_fields = fields(choice)
            index = choice_fields.get("index") or 0
            delta = fields(choice_fields.get("delta")) if chat else None
            piece = delta.get("content") if delta is not None else choice_fields.get("text")
            if piece:
                texts.setdefault(index, []).append(piece)
            for call in (delta.get("tool_calls") if delta is not None else None) or ():
                call_fields = fields(call)
                slot = tools.setdefault(index, {}).setdefault(
                    call_fields.get("index") or 0, {"id": None, "name": None, "arguments": ""}
                )
                function = fields(call_fields.get("function"))
                slot["id"] = call_fields.get("id") or slot["id"]
                slot["name"] = function.get("name") or slot["name"]
                slot["arguments"] += function.get("arguments") or ""
            reason = choice_fields.get("finish_reason")
            if reason:
                reasons[index] = reason
    indexes = sorted(set(texts) | set(tools) | set(reasons))
    outputs = [
        _output(
            "".join(texts.get(i, [])) or None,
            [
                _tool_call(t["id"], t["name"], t["arguments"])
                for _, t in sorted(tools.get(i, {}).items())
            ],
        )
        for i in indexes
    ]
    return ResponseInfo(
        outputs=_one_or_list(outputs),
        usage=usage,
        response_model=model,
        response_id=response_id,
        finish_reasons=[reasons[i] for i in indexes if i in reasons],
    )


def _chat_choices(choices: list[Any]) -> tuple[Any, list[str]]:
    outputs = []
    reasons = []
    for choice in choices:
        choice_fields = fields(choice)
        message = fields(choice_fields.get("message"))
        calls = []
        for call in message.get("tool_calls") or ():
            call_fields = fields(call)
            function = fields(call_fields.get("function"))
            calls.append(
                _tool_call(call_fields.get("id"), function.get("name"), function.get("arguments"))
            )
        parsed = message.get("parsed")
        content = message.get("content") if parsed is None else plain(parsed)
        outputs.append(_output(content, calls))
        reasons.append(choice_fields.get("finish_reason"))
    return _one_or_list(outputs), reasons


def _tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # keep what the model sent if it is not JSON
            arguments = json.loads(arguments)
    return {"id": call_id, "name": name, "arguments": arguments}


def _output(content: Any, calls: list[dict[str, Any]]) -> Any:
    if not calls:
        return content
    return {"content": content, "tool_calls": calls} if content else {"tool_calls": calls}


def _one_or_list(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else (values or None)


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    counts = fields(usage)
    input_details = fields(
        counts.get("prompt_tokens_details") or counts.get("input_tokens_details")
    )
    output_details = fields(
        counts.get("completion_tokens_details") or counts.get("output_tokens_details")
    )
    return Usage(
        input_tokens=_first(counts.get("prompt_tokens"), counts.get("input_tokens")),
        output_tokens=_first(counts.get("completion_tokens"), counts.get("output_tokens")),
        total_tokens=counts.get("total_tokens"),
        cached_input_tokens=input_details.get("cached_tokens"),
        reasoning_tokens=output_details.get("reasoning_tokens"),
    )


def _first(value: Any, other: Any) -> Any:
    return other if value is None else value


def _responses_api(response: Any) -> ResponseInfo:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in get(response, "output", []):
        kind = get(item, "type")
        if kind == "message":
            texts.extend(
                get(part, "text", "")
                for part in get(item, "content", [])
                if get(part, "type") == "output_text"
            )
        elif kind == "function_call":
            calls.append(
                _tool_call(get(item, "call_id"), get(item, "name"), get(item, "arguments"))
            )
    parsed = get(response, "output_parsed")
    content = plain(parsed) if parsed is not None else ("".join(texts) or None)
    reason = get(get(response, "incomplete_details"), "reason") or get(response, "status")
    return ResponseInfo(
        outputs=_output(content, calls),
        usage=_usage(get(response, "usage")),
        response_model=get(response, "model"),
        response_id=get(response, "id"),
        finish_reasons=[reason] if reason else [],
    )


def _responses_events(events: list[Any]) -> ResponseInfo:
    texts: list[str] = []
    response = None
    for event in events:
        kind = get(event, "type")
        if kind in _RESPONSES_END:
            return _responses_api(get(event, "response"))
        if kind == "response.output_text.delta":
            texts.append(get(event, "delta", ""))
        elif kind == "response.created":
            response = get(event, "response")
    # cut short: the text so far, and the model and id the stream announced
    return ResponseInfo(
        outputs="".join(texts) or None,
        response_model=get(response, "model"),
        response_id=get(response, "id"),
    )
