"""Helpers shared by the Google Gen AI integration's tests: clients, API bodies."""

from __future__ import annotations

from typing import Any

from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials

from tracklm.testing import LLMServer

GENAI_VERSION: str = genai.__version__
API_KEY = "AIzaSy-tracklm-test-0123456789abcdef"
TOKEN = "ya29.tracklm-test-token-0123456789"  # a Vertex AI client's OAuth access token
MODEL = "gemini-2.5-flash"
POEM = "Create a poem about Open Telemetry."
HAIKU = "Create a haiku about Open Telemetry."

_FIELDS = types.GenerateContentResponse.model_fields
HAS_RESPONSE_ID = "response_id" in _FIELDS
HAS_THOUGHTS_COUNT = (
    "thoughts_token_count" in types.GenerateContentResponseUsageMetadata.model_fields
)
HAS_THINKING_BUDGET = "thinking_budget" in types.ThinkingConfig.model_fields


def recorded(kind: str, mode: str, content: str = "logcontent") -> str:
    """The name of a recorded cassette: ``recorded("non_streaming", "sync")``, ``"streaming"``,
    ``"upload_hook_non_streaming"`` (a haiku); ``mode`` is ``sync`` or ``async``, ``content``
    ``logcontent`` or ``excludecontent`` (two recordings of each)."""
    hook = (
        "enable_completion_hook-experimental" if kind == "upload_hook_non_streaming" else "default"
    )
    return f"test_{kind}[{content}-{MODEL}-vertexaiapi-{mode}-{hook}]"


# The SDK's Client closes its HTTP client when it is garbage collected, which would break
# `client(server).models.generate_content(...)`: a test's clients are kept until it ends.
OPEN_CLIENTS: list[genai.Client] = []


def client(server: LLMServer, **http: Any) -> genai.Client:
    """A Gemini Developer API client of the server."""
    made = genai.Client(
        api_key=API_KEY, http_options=types.HttpOptions(base_url=server.url, **http)
    )
    OPEN_CLIENTS.append(made)
    return made


def vertex_client(server: LLMServer) -> genai.Client:
    """A Vertex AI client of the server (an access token instead of a key)."""
    made = genai.Client(
        vertexai=True,
        project="test-project",
        location="us-central1",
        credentials=Credentials(token=TOKEN),  # type: ignore[no-untyped-call]
        http_options=types.HttpOptions(base_url=server.url),
    )
    OPEN_CLIENTS.append(made)
    return made


def usage(prompt: int, candidates: int, thoughts: int | None = None, **more: int) -> dict[str, Any]:
    """A ``usageMetadata`` of the API."""
    found: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + (thoughts or 0),
    }
    if thoughts is not None:
        found["thoughtsTokenCount"] = thoughts
    found.update(more)
    return found


def answer(
    *parts: Any,
    finish: str | None = "STOP",
    tokens: dict[str, Any] | None = None,
    response_id: str = "resp-tracklm-1",
    model_version: str = "gemini-2.5-flash-001",
) -> dict[str, Any]:
    """A ``generateContent`` response body of the API, with one candidate of these parts
    (strings are text parts)."""
    candidate: dict[str, Any] = {
        "content": {
            "role": "model",
            "parts": [{"text": p} if isinstance(p, str) else p for p in parts],
        },
    }
    if finish is not None:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {
        "candidates": [candidate],
        "modelVersion": model_version,
        "responseId": response_id,
    }
    if tokens is not None:
        body["usageMetadata"] = tokens
    return body


def error(code: int, status: str, message: str) -> dict[str, Any]:
    """An error body of the API, in Google's shape."""
    return {"error": {"code": code, "message": message, "status": status}}
