"""Reading responses and streamed chunks of the four operations into ``ResponseInfo``."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from tracklm.integration import ResponseInfo, Usage
from tracklm_openai._values import get, plain


def read_response(operation: str, response: Any) -> ResponseInfo:
    """Read a whole response: a model, a dict, or a raw response whose body was read."""
    response = _body(response)
    if response is None:
        return ResponseInfo()
    if operation == "chat":
        outputs, reasons = _chat_choices(get(response, "choices", []))
    elif operation == "completion":
        choices = get(response, "choices", [])
        outputs = _one_or_list([get(c, "text") for c in choices])
        reasons = [get(c, "finish_reason") for c in choices]
    elif operation == "embedding":
        data = get(response, "data", [])
        first = get(data[0], "embedding") if data else None
        dimensions = len(first) if isinstance(first, list) else None
        outputs = {"embeddings": len(data), "dimensions": dimensions}
        reasons = []
    else:
        return _read_responses_api(response)
    return ResponseInfo(
        outputs=outputs,
        usage=_usage(get(response, "usage")),
        response_model=get(response, "model"),
        response_id=get(response, "id"),
        finish_reasons=[r for r in reasons if r],
    )


def read_chunks(operation: str, chunks: list[Any]) -> ResponseInfo:
    """Read a stream from its chunks (SDK chunk objects, or raw SSE lines)."""
    chunks = [c for c in (_chunk(c) for c in chunks) if c is not None]
    if operation == "responses":
        return _responses_events(chunks)
    model = response_id = None
    usage = Usage()
    texts: dict[int, list[str]] = {}
    tools: dict[int, dict[int, dict[str, Any]]] = {}
    reasons: dict[int, str] = {}
    for chunk in chunks:
        model = get(chunk, "model") or model
        response_id = get(chunk, "id") or response_id
        if get(chunk, "usage") is not None:
            usage = _usage(get(chunk, "usage"))
        for choice in get(chunk, "choices", []):
            index = get(choice, "index", 0)
            delta = get(choice, "delta")
            piece = get(delta, "content") if operation == "chat" else get(choice, "text")
            if piece:
                texts.setdefault(index, []).append(piece)
            for call in get(delta, "tool_calls", []) if operation == "chat" else []:
                slot = tools.setdefault(index, {}).setdefault(
                    get(call, "index", 0), {"name": None, "arguments": ""}
                )
                function = get(call, "function")
                slot["id"] = get(call, "id") or slot.get("id")
                slot["name"] = get(function, "name") or slot["name"]
                slot["arguments"] += get(function, "arguments", "")
            if get(choice, "finish_reason"):
                reasons[index] = get(choice, "finish_reason")
    indexes = sorted(set(texts) | set(tools) | set(reasons))
    outputs = _one_or_list(
        [
            _output(
                "".join(texts.get(i, [])) or None,
                [_tool_call(t) for _, t in sorted(tools.get(i, {}).items())],
            )
            for i in indexes
        ]
    )
    return ResponseInfo(
        outputs=outputs,
        usage=usage,
        response_model=model,
        response_id=response_id,
        finish_reasons=[reasons[i] for i in indexes if i in reasons],
    )


def _chat_choices(choices: list[Any]) -> tuple[Any, list[str]]:
    outputs = []
    for choice in choices:
        message = get(choice, "message")
        calls = [
            _tool_call(
                {
                    "id": get(c, "id"),
                    "name": get(get(c, "function"), "name"),
                    "arguments": get(get(c, "function"), "arguments"),
                }
            )
            for c in get(message, "tool_calls", [])
        ]
        content = get(message, "content")
        parsed = get(message, "parsed")
        outputs.append(_output(content if parsed is None else plain(parsed), calls))
    return _one_or_list(outputs), [get(c, "finish_reason") for c in choices]


def _tool_call(call: dict[str, Any]) -> dict[str, Any]:
    arguments = call.get("arguments")
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # keep what the model sent if it is not JSON
            arguments = json.loads(arguments)
    return {"id": call.get("id"), "name": call.get("name"), "arguments": arguments}


def _output(content: Any, calls: list[dict[str, Any]]) -> Any:
    if not calls:
        return content
    return {"content": content, "tool_calls": calls} if content else {"tool_calls": calls}


def _one_or_list(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else (values or None)


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    input_details = get(usage, "prompt_tokens_details") or get(usage, "input_tokens_details")
    output_details = get(usage, "completion_tokens_details") or get(usage, "output_tokens_details")
    return Usage(
        input_tokens=_first(usage, "prompt_tokens", "input_tokens"),
        output_tokens=_first(usage, "completion_tokens", "output_tokens"),
        total_tokens=get(usage, "total_tokens"),
        cached_input_tokens=get(input_details, "cached_tokens"),
        reasoning_tokens=get(output_details, "reasoning_tokens"),
    )


def _first(obj: Any, *names: str) -> Any:
    for name in names:
        value = get(obj, name)
        if value is not None:
            return value
    return None


def _read_responses_api(response: Any) -> ResponseInfo:
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
                _tool_call(
                    {
                        "id": get(item, "call_id"),
                        "name": get(item, "name"),
                        "arguments": get(item, "arguments"),
                    }
                )
            )
    parsed = get(response, "output_parsed")
    content = plain(parsed) if parsed is not None else ("".join(texts) or None)
    status = get(response, "status")
    reason = get(get(response, "incomplete_details"), "reason") or status
    return ResponseInfo(
        outputs=_output(content, calls),
        usage=_usage(get(response, "usage")),
        response_model=get(response, "model"),
        response_id=get(response, "id"),
        finish_reasons=[reason] if reason else [],
    )


def _responses_events(events: list[Any]) -> ResponseInfo:
    final = None
    texts: list[str] = []
    for event in events:
        kind = get(event, "type")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            final = get(event, "response")
        elif kind == "response.output_text.delta":
            texts.append(get(event, "delta", ""))
    if final is not None:
        return _read_responses_api(final)
    return ResponseInfo(outputs="".join(texts) or None)


def _body(response: Any) -> Any:
    """The JSON of a raw response (``with_raw_response``), else the response itself."""
    http = getattr(response, "http_response", None)
    if http is not None and hasattr(response, "parse"):
        try:
            return json.loads(http.content)
        except (ValueError, AttributeError):
            return None
    return response


def _chunk(chunk: Any) -> Any:
    """Raw SSE lines (``iter_lines`` of a streaming response) become JSON; others pass."""
    if isinstance(chunk, bytes):
        chunk = chunk.decode("utf-8", "replace")
    if isinstance(chunk, str):
        line = chunk.strip()
        if not line.startswith("data:"):
            return None
        data = line[5:].strip()
        if data == "[DONE]":
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None
    return chunk
