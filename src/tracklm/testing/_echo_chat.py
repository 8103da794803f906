"""Echo answers for ``/v1/chat/completions`` and the legacy ``/v1/completions``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._echo_common import (
    CREATED,
    ToolCall,
    count_tokens,
    last_user_text,
    requested_tool_calls,
    split_words,
    text_of,
)
from ._reply import Reply, json_reply, sse_reply
from ._sse import format_event

__all__ = ["chat_completion", "completion"]


def chat_completion(request: Mapping[str, Any], number: int) -> Reply:
    """Answer "echo: <last user message>", or the tool calls the message asks for."""
    model = str(request.get("model") or "echo")
    messages = request.get("messages")
    prompt = last_user_text(messages)
    calls = requested_tool_calls(prompt, request.get("tools"))
    words = _limit(split_words("echo: " + prompt), request)
    finish = "tool_calls" if calls else ("stop" if len(words.kept) == len(words.all) else "length")
    text = "".join(words.kept)
    prompt_tokens = count_tokens(
        *(text_of(m.get("content")) for m in messages or [] if isinstance(m, Mapping))
    )
    output_tokens = count_tokens(*(c.arguments for c in calls)) if calls else len(words.kept)
    usage = _usage(prompt_tokens, output_tokens)
    head = {"id": f"chatcmpl-echo-{number}", "created": CREATED, "model": model}
    choices = range(_int(request.get("n"), 1))
    if not request.get("stream"):
        message = _message(text, calls, number)
        return json_reply(
            200,
            {
                **head,
                "object": "chat.completion",
                "choices": [
                    {"index": i, "message": message, "logprobs": None, "finish_reason": finish}
                    for i in choices
                ],
                "usage": usage,
            },
        )
    include_usage = _include_usage(request)
    head = {**head, "object": "chat.completion.chunk", **({"usage": None} if include_usage else {})}

    def chunk(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return format_event({**head, "choices": [choice]})

    events: list[bytes] = []
    for i in choices:
        events.append(chunk(i, {"role": "assistant", "content": "" if not calls else None}))
        if calls:
            for k, call in enumerate(calls):
                function = {"name": call.name, "arguments": ""}
                opening = {"index": k, "id": _call_id(number, k), "type": "function"}
                events.append(chunk(i, {"tool_calls": [{**opening, "function": function}]}))
                arguments = {"index": k, "function": {"arguments": call.arguments}}
                events.append(chunk(i, {"tool_calls": [arguments]}))
        else:
            events.extend(chunk(i, {"content": word}) for word in words.kept)
        events.append(chunk(i, {}, finish))
    if include_usage:
        events.append(format_event({**head, "choices": [], "usage": usage}))
    events.append(format_event("[DONE]"))
    return sse_reply(events)


def completion(request: Mapping[str, Any], number: int) -> Reply:
    """Answer "echo: <prompt>" for each prompt of a legacy completion request."""
    model = str(request.get("model") or "echo")
    raw = request.get("prompt")
    prompts = raw if isinstance(raw, list) and all(isinstance(p, str) for p in raw) else [raw]
    texts = [p if isinstance(p, str) else " ".join(map(str, p or [])) for p in prompts]
    answers = [_limit(split_words("echo: " + text), request) for text in texts]
    usage = _usage(count_tokens(*texts), sum(len(a.kept) for a in answers))
    head = {"id": f"cmpl-echo-{number}", "object": "text_completion", "created": CREATED}
    head["model"] = model

    def finish(words: _Words) -> str:
        return "stop" if len(words.kept) == len(words.all) else "length"

    if not request.get("stream"):
        choices = [
            {"index": i, "text": "".join(a.kept), "logprobs": None, "finish_reason": finish(a)}
            for i, a in enumerate(answers)
        ]
        return json_reply(200, {**head, "choices": choices, "usage": usage})
    include_usage = _include_usage(request)
    if include_usage:
        head["usage"] = None
    events: list[bytes] = []
    for i, answer in enumerate(answers):
        for word in answer.kept:
            choice = {"index": i, "text": word, "logprobs": None, "finish_reason": None}
            events.append(format_event({**head, "choices": [choice]}))
        choice = {"index": i, "text": "", "logprobs": None, "finish_reason": finish(answer)}
        events.append(format_event({**head, "choices": [choice]}))
    if include_usage:
        events.append(format_event({**head, "choices": [], "usage": usage}))
    events.append(format_event("[DONE]"))
    return sse_reply(events)


class _Words:
    def __init__(self, all_words: list[str], limit: int | None) -> None:
        self.all = all_words
        self.kept = all_words if limit is None else all_words[: max(limit, 0)]


def _limit(words: list[str], request: Mapping[str, Any]) -> _Words:
    limit = request.get("max_completion_tokens", request.get("max_tokens"))
    return _Words(words, limit if isinstance(limit, int) else None)


def _message(text: str, calls: list[ToolCall], number: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None if calls else text}
    message["refusal"] = None
    if calls:
        message["tool_calls"] = [
            {
                "id": _call_id(number, k),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for k, call in enumerate(calls)
        ]
    return message


def _call_id(number: int, index: int) -> str:
    return f"call_echo_{number}_{index}"


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _include_usage(request: Mapping[str, Any]) -> bool:
    options = request.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True


def _int(value: Any, default: int) -> int:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
    )
