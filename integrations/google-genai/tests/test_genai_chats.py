"""Chats: each turn is one row, whose inputs are the whole history the SDK sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from google_support import MODEL, POEM, client, recorded

import tracklm
from tracklm.testing import LLMServer, json_cell, predictions

Replay = Callable[..., LLMServer]
SECOND = "Now make it a haiku."
CONFIG: Any = {"system_instruction": "You are a poet.", "temperature": 0.7}


def _check_turns(found: list[dict[str, Any]], replies: list[str], stream: bool) -> None:
    """Two rows, one per turn: the second's inputs hold the first turn and its answer."""
    assert [r["outputs"] for r in found] == replies
    assert [(r["operation"], r["stream"], r["status"]) for r in found] == [
        ("generate_content", stream, "ok")
    ] * 2
    first, second = (json_cell(r["inputs"]) for r in found)
    system = {"role": "system", "content": "You are a poet."}
    assert first == [system, {"role": "user", "content": POEM}]
    assert second[:2] == first
    # the model's turn: one content, or one per streamed chunk, as the SDK keeps it
    answered = second[2:-1]
    assert {m["role"] for m in answered} == {"assistant"}
    assert "".join(m["content"] for m in answered) == replies[0]
    assert second[-1] == {"role": "user", "content": SECOND}
    assert [json_cell(r["params"]) for r in found] == [{"model": MODEL, "temperature": 0.7}] * 2


def test_each_turn_of_a_chat_is_a_row_with_the_history_as_inputs(replay: Replay) -> None:
    server = replay(
        recorded("non_streaming", "sync"), recorded("upload_hook_non_streaming", "sync")
    )
    with tracklm.start_run() as run:
        chat = client(server).chats.create(model=MODEL, config=CONFIG)
        replies = [chat.send_message(POEM).text, chat.send_message(SECOND).text]

    _check_turns(predictions(run), [r or "" for r in replies], stream=False)
    sent = [request.json()["contents"] for request in server.requests]
    assert [len(contents) for contents in sent] == [1, 3]


def test_each_turn_of_an_async_chat_is_a_row(replay: Replay) -> None:
    server = replay(
        recorded("non_streaming", "async"), recorded("upload_hook_non_streaming", "async")
    )

    async def talk() -> list[str]:
        chat = client(server).aio.chats.create(model=MODEL, config=CONFIG)
        return [(await chat.send_message(text)).text or "" for text in (POEM, SECOND)]

    with tracklm.start_run() as run:
        replies = asyncio.run(talk())

    _check_turns(predictions(run), replies, stream=False)


def test_each_streamed_turn_of_a_chat_is_a_row(replay: Replay) -> None:
    server = replay(recorded("streaming", "sync"), recorded("streaming", "sync", "excludecontent"))
    with tracklm.start_run() as run:
        chat = client(server).chats.create(model=MODEL, config=CONFIG)
        replies = [
            "".join(chunk.text or "" for chunk in chat.send_message_stream(text))
            for text in (POEM, SECOND)
        ]

    found = predictions(run)
    _check_turns(found, replies, stream=True)
    assert all(r["ttft_ms"] is not None and r["total_tokens"] for r in found)


def test_each_streamed_turn_of_an_async_chat_is_a_row(replay: Replay) -> None:
    server = replay(
        recorded("streaming", "async"), recorded("streaming", "async", "excludecontent")
    )

    async def talk() -> list[str]:
        chat = client(server).aio.chats.create(model=MODEL, config=CONFIG)
        replies = []
        for text in (POEM, SECOND):
            stream = await chat.send_message_stream(text)
            replies.append("".join([chunk.text or "" async for chunk in stream]))
        return replies

    with tracklm.start_run() as run:
        replies = asyncio.run(talk())

    _check_turns(predictions(run), replies, stream=True)
