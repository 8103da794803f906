"""Helpers shared by the OpenAI integration's tests: clients, version gates."""

from __future__ import annotations

import importlib.util
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tracklm.testing import LLMServer

API_KEY = "sk-tracklm-test-0123456789abcdef"
SAY_TEST: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say this is a test"}]
OPENAI_VERSION = openai.__version__

HAS_RESPONSES = importlib.util.find_spec("openai.resources.responses") is not None
needs_responses = pytest.mark.skipif(
    not HAS_RESPONSES, reason=f"openai {OPENAI_VERSION} has no Responses API (it came in 1.66)"
)
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


def client(server: LLMServer, **kwargs: Any) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(api_key=API_KEY, base_url=server.openai_base_url, **kwargs)


def aclient(server: LLMServer, **kwargs: Any) -> openai.AsyncOpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.AsyncOpenAI(api_key=API_KEY, base_url=server.openai_base_url, **kwargs)


def chat_helpers(any_client: Any) -> Any:
    """Where ``parse`` and ``stream`` live: ``chat.completions``, or ``beta.chat.completions``
    in releases before 1.92."""
    completions = any_client.chat.completions
    return completions if hasattr(completions, "stream") else any_client.beta.chat.completions


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]
