"""Cassette loading, request-to-recording matching, API paths and SSE splitting."""

from __future__ import annotations

import gzip
import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracklm.testing import LLMServer, api_path
from tracklm.testing._cassettes import CassettePool, load_cassette
from tracklm.testing._sse import split_events


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.openai.com/v1/chat/completions", "chat/completions"),
        ("/v1/chat/completions?stream=1", "chat/completions"),
        ("/chat/completions", "chat/completions"),
        ("/proxy/v1/embeddings", "embeddings"),
        ("/openai/deployments/gpt-4o/chat/completions", "chat/completions"),
        ("/openai/v1/responses", "responses"),
        ("https://api.anthropic.com/v1/messages?beta=true", "messages"),
        (
            "/v1beta1/projects/p/locations/l/publishers/google/models/g:generateContent",
            "models/g:generateContent",
        ),
        ("/v1beta1/publishers/google/models/g:generateContent", "models/g:generateContent"),
        ("/v1beta/models/g:streamGenerateContent?alt=sse", "models/g:streamGenerateContent"),
    ],
)
def test_api_path_drops_host_prefix_version_and_query(url: str, expected: str) -> None:
    assert api_path(url) == expected


@given(st.binary(max_size=200) | st.text(alphabet="ab:\r\n ", max_size=60).map(str.encode))
def test_split_events_loses_nothing(body: bytes) -> None:
    assert b"".join(split_events(body)) == body


def test_split_events_keeps_each_event_with_its_blank_line() -> None:
    body = b"event: a\ndata: 1\n\ndata: 2\r\n\r\ndata: [DONE]\n\n"
    assert split_events(body) == [b"event: a\ndata: 1\n\n", b"data: 2\r\n\r\n", b"data: [DONE]\n\n"]


def test_every_fixture_interaction_is_replayed_byte_for_byte(fixtures_dir: Path) -> None:
    files = sorted(fixtures_dir.glob("*/cassettes/*.yaml"))
    assert len(files) >= 150
    replayed = 0
    for path in files:
        interactions = load_cassette(path)
        with LLMServer(path) as server:
            for interaction in interactions:
                url = urlsplit(interaction.uri)
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                target = url.path + (f"?{url.query}" if url.query else "")
                connection.request(interaction.method, target, body=interaction.request_body)
                response = connection.getresponse()
                body = response.read()
                connection.close()
                assert response.status == interaction.reply.status, interaction.source
                assert body == interaction.reply.body, interaction.source
                replayed += 1
    assert replayed == 171


def test_gzip_recording_keeps_its_encoding_and_gets_a_fresh_length(fixtures_dir: Path) -> None:
    name = "test_messages__test_anthropic_message_create_legacy.yaml"
    with LLMServer(fixtures_dir / "anthropic" / "cassettes" / name) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("POST", "/v1/messages", body=b"{}")
        response = connection.getresponse()
        body = response.read()
        connection.close()

    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Content-Length") == str(len(body))
    assert response.getheader("Transfer-Encoding") is None
    assert json.loads(gzip.decompress(body))["type"] == "message"


def test_stream_recording_is_split_into_one_chunk_per_event(fixtures_dir: Path) -> None:
    [interaction] = load_cassette(
        fixtures_dir / "openai/cassettes/test_chat_completion_streaming.yaml"
    )
    assert interaction.reply.stream
    assert len(interaction.reply.chunks) == 9
    assert interaction.reply.chunks[-1] == b"data: [DONE]\n\n"


def test_pool_prefers_equal_body_then_least_used_then_first(fixtures_dir: Path) -> None:
    cassettes = fixtures_dir / "openai" / "cassettes"
    plain = load_cassette(cassettes / "test_chat_completion_with_content.yaml")
    missing = load_cassette(cassettes / "test_chat_completion_404.yaml")
    pool = CassettePool(repeat=True)
    pool.add([*plain, *missing])
    body_404 = missing[0].request_body

    assert pool.take("POST", "/v1/chat/completions", body_404) is missing[0]
    assert pool.take("POST", "/v1/chat/completions", body_404) is missing[0]
    assert pool.take("POST", "/v1/chat/completions", b"{}") is plain[0]
    assert pool.take("POST", "/v1/chat/completions", b"{}") is plain[0]  # fewer uses: 1 vs 2
    assert pool.take("GET", "/v1/chat/completions", b"{}") is None


def test_not_a_cassette_is_rejected_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("just: text\n")
    with pytest.raises(ValueError, match=r"bad\.yaml is not a vcrpy cassette"):
        load_cassette(bad)
