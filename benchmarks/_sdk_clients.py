"""The SDKs the autolog overhead benchmark drives: their calls, canned responses and clients.

For each SDK, a :class:`Workload` says which calls one iteration makes, how to build a client
whose HTTP goes either to a fake transport (``httpx2.MockTransport`` replaying canned
responses: the SDK builds, sends and parses everything, only the socket is gone) or to a real
server, and which method tracklm wraps (for ``--inside``).

The canned responses are recorded once per benchmark run from one ``LLMServer``
(:func:`start_server`, :func:`record_canned`), which also answers the "server" mode:

* ``openai``: its echo mode (chat, embeddings, a stream of 66 chunks with usage);
* ``anthropic``: the recorded cassettes ``<fixtures>/anthropic/cassettes/``
  ``test_messages__test_anthropic_message_create_legacy.yaml`` (a message, gzip) and
  ``..._message_streaming_legacy.yaml`` (a stream of 75 events, 70 of them text deltas);
* ``google-genai``: the recorded ``generate_content`` answer of
  ``<fixtures>/google-genai/cassettes/test_non_streaming[...].yaml``; its recorded stream
  (``test_streaming[...]``, 6 chunks) rebuilt as 64 chunks of the same text and envelope (the
  last with the recorded finish reason and usage), so that the time per chunk is not mostly the
  end of the call; and an ``embed_content`` answer of 8 values (no recording has one; the size
  of the echo server's OpenAI embeddings).

The fixtures folder is ``$TRACKLM_FIXTURES_DIR``, else the first ``fixtures`` or
``shared/fixtures`` folder above this file.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SDKS = ("openai", "anthropic", "google-genai")
FAKE_URL = "http://fake.invalid"

# -- the calls ---------------------------------------------------------------------------------

OPENAI_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant. Answer in one sentence."},
    {"role": "user", "content": "What is the capital of France? Please answer briefly."},
]
OPENAI_STREAM_WORDS = 62  # echo answers "echo: " + the words: 64 content chunks + role, usage
OPENAI_STREAM_MESSAGES = [
    {"role": "user", "content": " ".join(f"w{i}" for i in range(OPENAI_STREAM_WORDS))}
]
EMBED_INPUT = "The quick brown fox jumps over the lazy dog."
OPENAI_CHAT_MODEL = "gpt-4o-mini"
OPENAI_EMBED_MODEL = "text-embedding-3-small"

# The recorded requests' own parameters: the server picks the recording whose body is equal.
ANTHROPIC_MESSAGES = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]
ANTHROPIC_MODEL = "claude-3-opus-20240229"
ANTHROPIC_STREAM_MODEL = "claude-3-haiku-20240307"
ANTHROPIC_FIXTURES = (
    "anthropic/cassettes/test_messages__test_anthropic_message_create_legacy.yaml",
    "anthropic/cassettes/test_messages__test_anthropic_message_streaming_legacy.yaml",
)

GEMINI_PROMPT = "Create a poem about Open Telemetry."
GEMINI_MODEL = "gemini-2.5-flash"
GEMINI_EMBED_MODEL = "gemini-embedding-001"
GEMINI_STREAM_CHUNKS = 64
GEMINI_FIXTURES = (
    "google-genai/cassettes/"
    "test_non_streaming[logcontent-gemini-2.5-flash-vertexaiapi-sync-default].yaml",
    "google-genai/cassettes/"
    "test_streaming[logcontent-gemini-2.5-flash-vertexaiapi-sync-default].yaml",
)


def _openai_chat(client: Any) -> Any:
    return client.chat.completions.create(model=OPENAI_CHAT_MODEL, messages=OPENAI_MESSAGES)


def _openai_embeddings(client: Any) -> Any:
    return client.embeddings.create(model=OPENAI_EMBED_MODEL, input=EMBED_INPUT)


def _openai_stream(client: Any) -> Any:
    return client.chat.completions.create(
        model=OPENAI_CHAT_MODEL,
        messages=OPENAI_STREAM_MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )


def _anthropic_message(client: Any) -> Any:
    return client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=1024, messages=ANTHROPIC_MESSAGES
    )


def _anthropic_stream(client: Any) -> Any:
    return client.messages.create(
        model=ANTHROPIC_STREAM_MODEL, max_tokens=1024, messages=ANTHROPIC_MESSAGES, stream=True
    )


def _anthropic_text_stream(client: Any) -> Iterator[str]:
    """The text of a ``messages.stream()`` manager; a generator, so that the request is made at
    the first ``next()`` (inside the time to first chunk) and leaving ``with`` (its
    ``close()``) is inside the last chunk's time."""
    with client.messages.stream(
        model=ANTHROPIC_STREAM_MODEL, max_tokens=1024, messages=ANTHROPIC_MESSAGES
    ) as stream:
        yield from stream.text_stream


def _gemini_generate(client: Any) -> Any:
    return client.models.generate_content(model=GEMINI_MODEL, contents=GEMINI_PROMPT)


def _gemini_embed(client: Any) -> Any:
    return client.models.embed_content(model=GEMINI_EMBED_MODEL, contents=EMBED_INPUT)


def _gemini_stream(client: Any) -> Any:
    return client.models.generate_content_stream(model=GEMINI_MODEL, contents=GEMINI_PROMPT)


@dataclass(frozen=True)
class Call:
    """One call an iteration makes: ``run(client)`` returns the response, or for a stream an
    iterable of its chunks (methods are looked up per call: a peer may patch them)."""

    key: str
    label: str
    run: Callable[[Any], Any]
    stream: bool = False


@dataclass(frozen=True)
class Recording:
    """A request made once to the server, whose response the fake transport replays."""

    name: str
    path: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Workload:
    sdk: str
    title: str
    module: str  # imported to tell whether the SDK is installed
    mlflow_flavor: str
    calls: tuple[Call, ...]
    recordings: tuple[Recording, ...]
    route: Callable[[str, bytes], str]  # (URL path, request body) -> a recording's name
    inside: tuple[tuple[str, str, str], ...]  # (module, class, method) tracklm wraps
    distributions: tuple[str, ...]

    def columns(self) -> list[tuple[str, str, str]]:
        """(sample key, label, kind of figure: ``call``, ``ttfc`` or ``chunk``) per figure."""
        columns = []
        for call in self.calls:
            if call.stream:
                columns.append((f"{call.key}.ttfc", f"{call.label}: time to first chunk", "ttfc"))
                columns.append((f"{call.key}.chunk", f"{call.label}: per chunk", "chunk"))
            else:
                columns.append((call.key, call.label, "call"))
        return columns

    def client(self, base_url: str, http_client: Any = None) -> Any:
        """A client of this SDK sending to ``base_url`` (through ``http_client`` if given)."""
        if self.sdk == "openai":
            import openai

            extra = {"http_client": http_client} if http_client is not None else {}
            return openai.OpenAI(api_key="bench", base_url=base_url + "/v1", max_retries=0, **extra)
        if self.sdk == "anthropic":
            import anthropic

            extra = {"http_client": http_client} if http_client is not None else {}
            return anthropic.Anthropic(api_key="bench", base_url=base_url, max_retries=0, **extra)
        from google import genai
        from google.genai import types

        options = types.HttpOptions(base_url=base_url, httpx_client=http_client)
        return genai.Client(api_key="bench", http_options=options)


def _openai_route(path: str, body: bytes) -> str:
    if path.endswith("/embeddings"):
        return "embeddings"
    return "stream" if b'"stream":true' in body.replace(b" ", b"") else "chat"


def _anthropic_route(path: str, body: bytes) -> str:
    return "stream" if b'"stream":true' in body.replace(b" ", b"") else "message"


def _gemini_route(path: str, body: bytes) -> str:
    if path.endswith(":streamGenerateContent"):
        return "stream"
    return "embed" if path.endswith(":batchEmbedContents") else "generate"


WORKLOADS = {
    "openai": Workload(
        sdk="openai",
        title="OpenAI",
        module="openai",
        mlflow_flavor="openai",
        calls=(
            Call("chat", "chat", _openai_chat),
            Call("embeddings", "embeddings", _openai_embeddings),
            Call("stream", "stream", _openai_stream, stream=True),
        ),
        recordings=(
            Recording(
                "chat",
                "/v1/chat/completions",
                {"model": OPENAI_CHAT_MODEL, "messages": OPENAI_MESSAGES},
            ),
            Recording(
                "embeddings", "/v1/embeddings", {"model": OPENAI_EMBED_MODEL, "input": EMBED_INPUT}
            ),
            Recording(
                "stream",
                "/v1/chat/completions",
                {
                    "model": OPENAI_CHAT_MODEL,
                    "messages": OPENAI_STREAM_MESSAGES,
                    "stream": True,
                    "stream_options": {"include_usage": True},
                },
            ),
        ),
        route=_openai_route,
        inside=(("openai._base_client", "SyncAPIClient", "request"),),
        distributions=("tracklm-openai", "openai"),
    ),
    "anthropic": Workload(
        sdk="anthropic",
        title="Anthropic",
        module="anthropic",
        mlflow_flavor="anthropic",
        calls=(
            Call("messages", "messages.create", _anthropic_message),
            Call("stream", "create(stream=True)", _anthropic_stream, stream=True),
            Call("text", "messages.stream() text_stream", _anthropic_text_stream, stream=True),
        ),
        recordings=(
            Recording(
                "message",
                "/v1/messages",
                {"max_tokens": 1024, "messages": ANTHROPIC_MESSAGES, "model": ANTHROPIC_MODEL},
            ),
            Recording(
                "stream",
                "/v1/messages",
                {
                    "max_tokens": 1024,
                    "messages": ANTHROPIC_MESSAGES,
                    "model": ANTHROPIC_STREAM_MODEL,
                    "stream": True,
                },
            ),
        ),
        route=_anthropic_route,
        inside=(("anthropic._base_client", "SyncAPIClient", "request"),),
        distributions=("tracklm-anthropic", "anthropic"),
    ),
    "google-genai": Workload(
        sdk="google-genai",
        title="Google Gen AI",
        module="google.genai",
        mlflow_flavor="gemini",
        calls=(
            Call("generate", "generate_content", _gemini_generate),
            Call("embed", "embed_content", _gemini_embed),
            Call("stream", "generate_content_stream", _gemini_stream, stream=True),
        ),
        recordings=(
            Recording(
                "generate",
                f"/v1beta/models/{GEMINI_MODEL}:generateContent",
                {"contents": [{"parts": [{"text": GEMINI_PROMPT}], "role": "user"}]},
            ),
            Recording(
                "embed",
                f"/v1beta/models/{GEMINI_EMBED_MODEL}:batchEmbedContents",
                {"requests": [{"content": {"parts": [{"text": EMBED_INPUT}]}}]},
            ),
            Recording(
                "stream",
                f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent",
                {"contents": [{"parts": [{"text": GEMINI_PROMPT}], "role": "user"}]},
            ),
        ),
        route=_gemini_route,
        inside=(
            ("google.genai.models", "Models", "generate_content"),
            ("google.genai.models", "Models", "embed_content"),
        ),
        distributions=("tracklm-google-genai", "google-genai", "httpx2"),
    ),
}

# -- canned responses --------------------------------------------------------------------------

_EVENT = re.compile(rb".*?(?:\r\n\r\n|\n\n|\r\r)", re.DOTALL)


def fixtures_dir() -> Path | None:
    """``$TRACKLM_FIXTURES_DIR``, else the first ``fixtures`` or ``shared/fixtures`` folder
    holding ``<provider>/cassettes`` above this file."""
    given = os.environ.get("TRACKLM_FIXTURES_DIR")
    candidates = [Path(given)] if given else []
    for folder in Path(__file__).resolve().parents:
        candidates += [folder / "fixtures", folder / "shared" / "fixtures"]
    return next((c for c in candidates if c.is_dir() and any(c.glob("*/cassettes"))), None)


def missing_fixtures(sdk: str) -> str | None:
    """Why ``sdk`` cannot be measured for want of recordings, or None."""
    needed = {"anthropic": ANTHROPIC_FIXTURES, "google-genai": GEMINI_FIXTURES}.get(sdk, ())
    folder = fixtures_dir()
    if needed and folder is None:
        return "no fixtures folder (set TRACKLM_FIXTURES_DIR)"
    absent = [name for name in needed if folder is not None and not (folder / name).is_file()]
    return f"missing recordings: {', '.join(absent)}" if absent else None


def _gemini_cassette(folder: Path, into: Path) -> Path:
    """A cassette of the rebuilt 64-chunk stream and of an ``embed_content`` answer."""
    import yaml

    from tracklm.testing import embedding_vector

    recorded = yaml.safe_load((folder / GEMINI_FIXTURES[1]).read_text(encoding="utf-8"))
    body = recorded["interactions"][0]["response"]["body"]["string"].encode()
    chunks = [json.loads(e.strip()[len(b"data:") :]) for e in _EVENT.findall(body) if e.strip()]
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    words = re.findall(r"\S+\s*", text)
    n = GEMINI_STREAM_CHUNKS
    pieces = ["".join(words[i * len(words) // n : (i + 1) * len(words) // n]) for i in range(n)]
    events = []
    for index, piece in enumerate(pieces):
        chunk = json.loads(json.dumps(chunks[-1] if index == len(pieces) - 1 else chunks[0]))
        chunk["candidates"][0]["content"]["parts"][0]["text"] = piece
        events.append("data: " + json.dumps(chunk, separators=(",", ":")) + "\r\n\r\n")
    base = "https://generativelanguage.googleapis.com/v1beta/models/"
    embedding = {"embeddings": [{"values": embedding_vector(EMBED_INPUT)}]}
    interactions = [
        _interaction(base + f"{GEMINI_MODEL}:streamGenerateContent?alt=sse",
                     "text/event-stream", "".join(events)),
        _interaction(base + f"{GEMINI_EMBED_MODEL}:batchEmbedContents",
                     "application/json", json.dumps(embedding)),
    ]  # fmt: skip
    into.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))
    return into


def _interaction(uri: str, content_type: str, body: str) -> dict[str, Any]:
    return {
        "request": {"method": "POST", "uri": uri, "body": "", "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": [content_type]},
            "body": {"string": body},
        },
    }


def start_server(sdks: list[str], root: Path) -> Any:
    """A started ``LLMServer``: echo mode for OpenAI, and replaying (any number of times) the
    recordings of the other SDKs in ``sdks``."""
    from tracklm.testing import LLMServer

    folder = fixtures_dir()
    cassettes: list[Path] = []
    if folder is not None and "anthropic" in sdks:
        cassettes += [folder / name for name in ANTHROPIC_FIXTURES]
    if folder is not None and "google-genai" in sdks:
        cassettes.append(folder / GEMINI_FIXTURES[0])
        cassettes.append(_gemini_cassette(folder, root / "google-genai-bench.yaml"))
    return LLMServer(cassettes, echo=True, repeat=True).start()


def record_canned(server: Any, sdks: list[str], into: Path) -> Path:
    """Ask ``server`` once for every recording of ``sdks``; write ``{sdk: {name: {"type",
    "body" or "events"}}}`` (base64) to ``into``. Bodies are decompressed."""
    import httpx2

    canned: dict[str, dict[str, Any]] = {}
    with httpx2.Client(base_url=server.url, timeout=30) as http:
        for sdk in sdks:
            canned[sdk] = {}
            for recording in WORKLOADS[sdk].recordings:
                response = http.post(recording.path, json=recording.body)
                if response.status_code != 200:
                    raise RuntimeError(f"{sdk} {recording.name}: {response.text[:500]}")
                kind = response.headers.get("content-type", "application/json")
                entry: dict[str, Any] = {"type": kind}
                if kind.startswith("text/event-stream"):
                    events = [e for e in _EVENT.findall(response.content) if e.strip()]
                    entry["events"] = [base64.b64encode(e).decode() for e in events]
                else:
                    entry["body"] = base64.b64encode(response.content).decode()
                canned[sdk][recording.name] = entry
    into.write_text(json.dumps(canned))
    return into


def canned_once(sdks: list[str], root: Path) -> Path:
    """:func:`record_canned` from a server started for it and stopped after:
    ``root/canned.json``."""
    server = start_server(sdks, root)
    try:
        return record_canned(server, sdks, root / "canned.json")
    finally:
        server.stop()


def fake_client(workload: Workload, canned: dict[str, Any]) -> Any:
    """A client of ``workload``'s SDK whose transport answers from ``canned`` (its entry of
    :func:`record_canned`'s file) without a socket."""
    import httpx2

    replies: dict[str, tuple[dict[str, str], Any]] = {}
    for name, entry in canned.items():
        headers = {"content-type": entry["type"]}
        if "events" in entry:
            replies[name] = (headers, [base64.b64decode(e) for e in entry["events"]])
        else:
            replies[name] = (headers, base64.b64decode(entry["body"]))
    route = workload.route

    def handler(request: Any) -> Any:
        headers, content = replies[route(request.url.path, request.content)]
        if isinstance(content, list):  # a stream: one event at a time
            return httpx2.Response(200, headers=headers, content=iter(content))
        return httpx2.Response(200, headers=headers, content=content)

    return workload.client(FAKE_URL, httpx2.Client(transport=httpx2.MockTransport(handler)))
