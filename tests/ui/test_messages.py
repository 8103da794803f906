"""How logged prompts and responses are read for the row view, and how values are shown."""

from __future__ import annotations

import json

from tracklm.ui.formatting import cell, duration, number, pretty
from tracklm.ui.messages import (
    Block,
    Message,
    input_preview,
    output_preview,
    read_inputs,
    read_outputs,
)


def test_openai_messages_are_a_conversation_with_their_tool_calls() -> None:
    inputs = json.dumps(
        [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather?"},
                    {"type": "image_url", "image_url": {"url": "x"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ]
    )
    system, user, assistant, tool = read_inputs(inputs)
    assert system == Message("system", [Block("text", "Be brief.")])
    assert user.blocks[0] == Block("text", "Weather?")
    assert user.blocks[1].kind == "json"
    assert assistant.blocks == [Block("tool_call", '{\n  "city": "Paris"\n}', "weather")]
    assert tool.blocks == [Block("text", "result of tool call c1", "tool"), Block("text", "sunny")]
    assert input_preview(inputs) == "Weather?"


def test_anthropic_blocks_are_read_as_text_tool_uses_and_results() -> None:
    inputs = [
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t",
                    "content": [{"type": "text", "text": "42"}],
                }
            ],
        },
        {"role": "assistant", "content": [{"type": "tool_use", "name": "calc", "input": {"x": 1}}]},
    ]
    result, use = read_inputs({"system": "Be kind.", "messages": inputs})[1:]
    assert result.blocks == [Block("text", "42", "tool result")]
    assert use.blocks == [Block("tool_call", '{\n  "x": 1\n}', "calc")]


def test_other_inputs_are_one_message_of_text_or_json() -> None:
    assert read_inputs("Once upon a time") == [
        Message("input", [Block("text", "Once upon a time")])
    ]
    assert read_inputs('["a", "b"]') == [Message("input", [Block("json", '[\n  "a",\n  "b"\n]')])]
    assert read_inputs(None) == []
    assert read_inputs("[not json") == [Message("input", [Block("text", "[not json")])]


def test_outputs_are_text_tool_calls_or_laid_out_json() -> None:
    assert read_outputs("Paris.") == [Block("text", "Paris.")]
    calls = json.dumps(
        {"tool_calls": [{"id": "1", "name": "weather", "arguments": {"city": "Rome"}}]}
    )
    assert read_outputs(calls) == [Block("tool_call", '{\n  "city": "Rome"\n}', "weather")]
    assert output_preview(calls) == 'weather({ "city": "Rome" })'
    assert read_outputs('{"answer": 42}') == [Block("json", '{\n  "answer": 42\n}')]
    assert read_outputs(None) == []


def test_values_are_shown_readably() -> None:
    assert number(1234567) == "1,234,567"
    assert number(0.123456789) == "0.123457"
    assert number(1e-9) == "1e-09"
    assert number(float("nan")) == "nan"
    assert duration(840) == "840 ms"
    assert duration(12_340) == "12.3 s"
    assert duration(245_000) == "4 min 5 s"
    assert duration(7_380_000) == "2 h 3 min"
    assert cell("a\nb   c") == "a b c"
    assert cell("x" * 300, 10) == "x" * 9 + "…"
    assert pretty('{"a": [1]}') == '{\n  "a": [\n    1\n  ]\n}'
    assert pretty("plain") == "plain"
