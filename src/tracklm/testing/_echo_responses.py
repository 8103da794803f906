"""Echo answers for the Responses API, ``/v1/responses``, plain and streamed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._echo_common import (
    CREATED,
    count_tokens,
    last_user_text,
    requested_tool_calls,
    split_words,
)
from ._reply import Reply, json_reply, sse_reply
from ._sse import format_event

__all__ = ["response"]


def response(request: Mapping[str, Any], number: int) -> Reply:
    """Answer "echo: <last user input>" (or the tool calls it asks for) as a Response."""
    prompt = last_user_text(request.get("input"))
    instructions = request.get("instructions")
    calls = requested_tool_calls(prompt, request.get("tools"))
    words = split_words("echo: " + prompt)
    limit = request.get("max_output_tokens")
    truncated = False
    if not calls and isinstance(limit, int) and len(words) > limit:
        words, truncated = words[: max(limit, 0)], True
    text = "".join(words)
    items: list[dict[str, Any]] = [
        {
            "id": f"fc_echo_{number}_{k}",
            "type": "function_call",
            "call_id": f"call_echo_{number}_{k}",
            "name": call.name,
            "arguments": call.arguments,
            "status": "completed",
        }
        for k, call in enumerate(calls)
    ]
    if not calls:
        items.append(_message(f"msg_echo_{number}", "completed", [_text_part(text)]))
    input_tokens = count_tokens(prompt, instructions if isinstance(instructions, str) else "")
    output_tokens = count_tokens(*(c.arguments for c in calls)) if calls else len(words)
    final = _response(request, number, "incomplete" if truncated else "completed", items)
    final["usage"] = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
    if truncated:
        final["incomplete_details"] = {"reason": "max_output_tokens"}
    if not request.get("stream"):
        return json_reply(200, final)
    return sse_reply(_events(request, number, final, words))


def _events(
    request: Mapping[str, Any], number: int, final: dict[str, Any], words: list[str]
) -> list[bytes]:
    events: list[bytes] = []

    def emit(kind: str, **fields: Any) -> None:
        payload = {"type": kind, **fields, "sequence_number": len(events)}
        events.append(format_event(payload, event=kind))

    opening = _response(request, number, "in_progress", [])
    emit("response.created", response=opening)
    emit("response.in_progress", response=opening)
    for index, item in enumerate(final["output"]):
        place = {"item_id": item["id"], "output_index": index}
        if item["type"] == "function_call":
            emit("response.output_item.added", output_index=index, item={**item, "arguments": ""})
            emit("response.function_call_arguments.delta", **place, delta=item["arguments"])
            emit("response.function_call_arguments.done", **place, arguments=item["arguments"])
        else:
            text = item["content"][0]["text"]
            place["content_index"] = 0
            empty = _message(item["id"], "in_progress", [])
            emit("response.output_item.added", output_index=index, item=empty)
            emit("response.content_part.added", **place, part=_text_part(""))
            for word in words:
                emit("response.output_text.delta", **place, delta=word, logprobs=[])
            emit("response.output_text.done", **place, text=text, logprobs=[])
            emit("response.content_part.done", **place, part=_text_part(text))
        emit("response.output_item.done", output_index=index, item=item)
    done = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    emit(done, response=final)
    return events


def _response(
    request: Mapping[str, Any], number: int, status: str, output: list[dict[str, Any]]
) -> dict[str, Any]:
    tool_choice = request.get("tool_choice")
    return {
        "id": f"resp_echo_{number}",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "model": str(request.get("model") or "echo"),
        "output": output,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "metadata": request.get("metadata") or {},
        "parallel_tool_calls": request.get("parallel_tool_calls", True) is not False,
        "temperature": request.get("temperature"),
        "top_p": request.get("top_p"),
        "tool_choice": tool_choice if tool_choice is not None else "auto",
        "tools": _tools(request.get("tools")),
        "text": {"format": {"type": "text"}},
        "usage": None,
    }


def _tools(raw: Any) -> list[dict[str, Any]]:
    """The request's function tools, in the Responses API shape."""
    tools = []
    for tool in raw if isinstance(raw, list) else []:
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            continue
        function = tool.get("function", tool)
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            tools.append(
                {
                    "type": "function",
                    "name": function["name"],
                    "parameters": function.get("parameters"),
                    "strict": function.get("strict"),
                    "description": function.get("description"),
                }
            )
    return tools


def _message(item_id: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
