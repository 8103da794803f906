"""Message content on spans: only when the user opts in, in the conventions' message schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tracklm
from tracklm.testing import LLMServer

from .conftest import Otel, client_for, rows

CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
CONTENT_KEYS = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"}
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "hello there"},
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def chat_span_attributes(otel: Otel, server: LLMServer, **request: Any) -> dict[str, Any]:
    with tracklm.start_run() as run:
        client_for(server).chat.completions.create(model="gpt-4o-mini", **request)
    rows(run.info.run_id)
    (span,) = otel.tracklm_spans()
    return dict(span.attributes or {})


@pytest.mark.parametrize("value", [None, "false", "NO_CONTENT", "EVENT_ONLY"])
def test_no_content_unless_opted_in(
    otel: Otel, server: LLMServer, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv(CONTENT_ENV, value)
    attributes = chat_span_attributes(otel, server, messages=MESSAGES)
    assert not CONTENT_KEYS & set(attributes)
    assert attributes["gen_ai.usage.input_tokens"] == 5  # the span is otherwise complete


@pytest.mark.parametrize("value", ["true", "True", "SPAN_ONLY", "span_and_event"])
def test_chat_content_when_opted_in(
    otel: Otel, server: LLMServer, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(CONTENT_ENV, value)
    attributes = chat_span_attributes(otel, server, messages=MESSAGES)

    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "hello there"}]},
    ]
    assert json.loads(attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "echo: hello there"}],
            "finish_reason": "stop",
        }
    ]
    assert "gen_ai.system_instructions" not in attributes  # chat history holds the system message


def test_tool_calls_and_results_are_message_parts(
    otel: Otel, server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTENT_ENV, "true")
    client = client_for(server)
    ask = {"role": "user", "content": 'call get_weather {"city": "Paris"}'}
    with tracklm.start_run() as run:
        first = client.chat.completions.create(
            model="gpt-4o-mini", messages=[ask], tools=[WEATHER_TOOL]
        )
        call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
        client.chat.completions.create(
            model="gpt-4o-mini",
            tools=[WEATHER_TOOL],
            messages=[
                ask,
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": "rainy, 12C"},
                {"role": "user", "content": "thanks"},
            ],
        )
    rows(run.info.run_id)
    asked, answered = sorted(otel.tracklm_spans(), key=lambda s: s.start_time or 0)

    tool_call = {
        "type": "tool_call",
        "id": call.id,
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }
    assert json.loads(dict(asked.attributes or {})["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [tool_call], "finish_reason": "tool_call"}
    ]
    assert dict(asked.attributes or {})["gen_ai.response.finish_reasons"] == ("tool_calls",)
    history = json.loads(dict(answered.attributes or {})["gen_ai.input.messages"])
    assert history[1:3] == [
        {"role": "assistant", "parts": [tool_call]},
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": call.id, "response": "rainy, 12C"}],
        },
    ]


def test_responses_api_content_and_instructions(
    otel: Otel, server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTENT_ENV, "true")
    with tracklm.start_run() as run:
        client_for(server).responses.create(
            model="gpt-4o-mini", instructions="Be brief.", input="hello there"
        )
    rows(run.info.run_id)
    (span,) = otel.tracklm_spans()
    attributes = dict(span.attributes or {})

    assert json.loads(attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello there"}]}
    ]
    (output,) = json.loads(attributes["gen_ai.output.messages"])
    assert output["role"] == "assistant"
    assert output["parts"] == [{"type": "text", "content": "echo: hello there"}]
    assert output["finish_reason"] == "stop"


def test_embeddings_spans_carry_no_content(
    otel: Otel, server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTENT_ENV, "true")
    with tracklm.start_run() as run:
        client_for(server).embeddings.create(model="text-embedding-3-small", input="secret")
    rows(run.info.run_id)
    (span,) = otel.tracklm_spans()
    assert not CONTENT_KEYS & set(dict(span.attributes or {}))


def test_log_inputs_false_keeps_inputs_off_spans_too(
    otel: Otel, server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTENT_ENV, "true")
    tracklm.autolog(log_inputs=False)
    attributes = chat_span_attributes(otel, server, messages=MESSAGES)
    assert "gen_ai.input.messages" not in attributes
    assert "gen_ai.output.messages" in attributes


def test_spans_carry_only_what_redact_and_max_text_chars_left(
    otel: Otel, server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret removed by redact must not leave through the tracing backend either."""
    monkeypatch.setenv(CONTENT_ENV, "true")

    def redact(record: tracklm.CallRecord) -> tracklm.CallRecord | None:
        if "drop" in json.dumps(record.inputs):
            return None
        record.inputs = json.loads(json.dumps(record.inputs).replace("4111-1111", "[card]"))
        record.outputs = str(record.outputs).replace("4111-1111", "[card]")
        return record

    tracklm.autolog(redact=redact, max_text_chars=1000)
    with tracklm.start_run() as run:
        client = client_for(server)
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "card 4111-1111"}]
        )
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "drop 4111-1111"}]
        )
    rows(run.info.run_id)
    kept, dropped = otel.tracklm_spans()
    assert "4111" not in json.dumps(dict(kept.attributes or {}))
    assert "[card]" in str((kept.attributes or {})["gen_ai.input.messages"])
    assert not CONTENT_KEYS & set(dropped.attributes or {})
