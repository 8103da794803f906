"""Echo answers for ``/v1/chat/completions`` and the legacy ``/v1/completions``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Answer:
    """The words of an echo answer, cut to the request's token limit."""

    words: list[str]
    truncated: bool

    @classmethod
    def to(cls, prompt: str, request: Mapping[str, Any]) -> _Answer:
        words = split_words("echo: " + prompt)
        limit = request.get("max_completion_tokens", request.get("max_tokens"))
        if isinstance(limit, int) and len(words) > limit:
            return cls(words[: max(limit, 0)], True)
        return cls(words, False)

    @property
    def finish_reason(self) -> str:
        return "length" if self.truncated else "stop"


def chat_completion(request: Mapping[str, Any], number: int) -> Reply:
    """Answer "echo: <last user message>", or the tool calls the message asks for."""
    messages = request.get("messages")
    prompt = last_user_text(messages)
    calls = requested_tool_calls(prompt, request.get("tools"))
    answer = _Answer.to(prompt, request)
    finish = "tool_calls" if calls else answer.finish_reason
    contents = (text_of(m.get("content")) for m in messages or [] if isinstance(m, Mapping))
    output_tokens = count_tokens(*(c.arguments for c in calls)) if calls else len(answer.words)
    usage = _usage(count_tokens(*contents), output_tokens)
    head = {"id": f"chatcmpl-echo-{number}", "created": CREATED, "model": _model(request)}
    choices = range(_positive_int(request.get("n"), 1))
    if not request.get("stream"):
        message = _message("".join(answer.words), calls, number)
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
    head["object"] = "chat.completion.chunk"
    if _include_usage(request):
        head["usage"] = None  # as the API does: every chunk has it, null until the last

    def chunk(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return format_event({**head, "choices": [choice]})

    events: list[bytes] = []
    for i in choices:
        events.append(chunk(i, {"role": "assistant", "content": None if calls else ""}))
        for k, call in enumerate(calls):
            opening = {"index": k, "id": _call_id(number, k), "type": "function"}
            function = {"name": call.name, "arguments": ""}
            events.append(chunk(i, {"tool_calls": [{**opening, "function": function}]}))
            arguments = {"index": k, "function": {"arguments": call.arguments}}
            events.append(chunk(i, {"tool_calls": [arguments]}))
        if not calls:
            events.extend(chunk(i, {"content": word}) for word in answer.words)
        events.append(chunk(i, {}, finish))
    if "usage" in head:
        events.append(format_event({**head, "choices": [], "usage": usage}))
    events.append(format_event("[DONE]"))
    return sse_reply(events)


def completion(request: Mapping[str, Any], number: int) -> Reply:
    """Answer "echo: <prompt>" for each prompt of a legacy completion request."""
    raw = request.get("prompt")
    prompts = raw if isinstance(raw, list) and all(isinstance(p, str) for p in raw) else [raw]
    texts = [p if isinstance(p, str) else " ".join(map(str, p or [])) for p in prompts]
    answers = [_Answer.to(text, request) for text in texts]
    usage = _usage(count_tokens(*texts), sum(len(a.words) for a in answers))
    head = {"id": f"cmpl-echo-{number}", "object": "text_completion", "created": CREATED}
    head["model"] = _model(request)
    if not request.get("stream"):
        choices = [
            {
                "index": i,
                "text": "".join(a.words),
                "logprobs": None,
                "finish_reason": a.finish_reason,
            }
            for i, a in enumerate(answers)
        ]
        return json_reply(200, {**head, "choices": choices, "usage": usage})
    if _include_usage(request):
        head["usage"] = None

    def chunk(index: int, text: str, finish_reason: str | None = None) -> bytes:
        choice = {"index": index, "text": text, "logprobs": None, "finish_reason": finish_reason}
        return format_event({**head, "choices": [choice]})

    events: list[bytes] = []
    for i, answer in enumerate(answers):
        events.extend(chunk(i, word) for word in answer.words)
        events.append(chunk(i, "", answer.finish_reason))
    if "usage" in head:
        events.append(format_event({**head, "choices": [], "usage": usage}))
    events.append(format_event("[DONE]"))
    return sse_reply(events)


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


def _model(request: Mapping[str, Any]) -> str:
    return str(request.get("model") or "echo")


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _include_usage(request: Mapping[str, Any]) -> bool:
    options = request.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True


def _positive_int(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default
