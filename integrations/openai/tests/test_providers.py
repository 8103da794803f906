"""Azure and other OpenAI-compatible providers, and the supported SDK releases."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import openai
import pytest
from openai_support import API_KEY, user
from tracklm_openai import OpenAIIntegration
from tracklm_openai._integration import provider_of

import tracklm
from tracklm.integration import version_matches
from tracklm.testing import LLMServer, prediction, predictions


def test_the_installed_openai_is_a_supported_release_and_the_one_ci_asked_for() -> None:
    assert version_matches(openai.__version__, OpenAIIntegration.supported)
    wanted = os.environ.get("TRACKLM_TEST_OPENAI_VERSION")  # set by .ci/run's oldest-release step
    if wanted:
        assert openai.__version__.startswith(wanted), (openai.__version__, wanted)


def test_an_azure_call_is_recorded_with_its_deployment_and_provider(server: LLMServer) -> None:
    azure: dict[str, Any] = {
        "api_key": API_KEY,
        "api_version": "2024-06-01",
        "azure_endpoint": server.url,
    }

    async def call_async() -> None:
        async with openai.AsyncAzureOpenAI(**azure) as aio:
            await aio.chat.completions.create(model="gpt4o-deployment", messages=user("async"))

    with tracklm.start_run() as run:
        openai.AzureOpenAI(**azure).chat.completions.create(
            model="gpt4o-deployment", messages=user("sync"), temperature=0
        )
        asyncio.run(call_async())

    assert server.requests[0].path == "/openai/deployments/gpt4o-deployment/chat/completions"
    assert server.requests[0].query == {"api-version": "2024-06-01"}
    found = predictions(run)
    assert [(r["provider"], r["model"], r["outputs"]) for r in found] == [
        ("azure.ai.openai", "gpt4o-deployment", "echo: sync"),
        ("azure.ai.openai", "gpt4o-deployment", "echo: async"),
    ]


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        (None, "openai"),
        ("https://api.openai.com/v1", "openai"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.deepseek.com", "deepseek"),
        ("https://api.x.ai/v1", "x_ai"),
        ("https://api.mistral.ai/v1", "mistral_ai"),
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "gcp.gemini"),
        ("https://my-resource.openai.azure.com/openai/v1/", "azure.ai.openai"),
        ("http://localhost:11434/v1", "localhost"),  # Ollama: named by its host
        ("http://gpu-box.internal:8000/v1", "gpu-box.internal"),  # a vLLM server
    ],
)
def test_the_provider_is_named_from_the_clients_base_url(
    base_url: str | None, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert provider_of(openai.OpenAI(api_key="k", base_url=base_url)) == provider
    assert provider_of(openai.AsyncOpenAI(api_key="k", base_url=base_url)) == provider


def test_an_openai_compatible_server_gets_the_params_it_was_sent(server: LLMServer) -> None:
    vllm = openai.OpenAI(api_key="EMPTY", base_url=server.openai_base_url, max_retries=0)
    with tracklm.start_run() as run:
        vllm.chat.completions.create(
            model="Qwen/Qwen3-8B",
            messages=user("hi"),
            temperature=0.6,
            extra_body={"top_k": 20, "chat_template_kwargs": {"enable_thinking": False}},
        )

    got = prediction(run)
    assert (got["provider"], got["model"]) == ("127.0.0.1", "Qwen/Qwen3-8B")
    params = tracklm.get_run(run.info.run_id).data.params
    assert params["top_k"] == "20"
    assert params["chat_template_kwargs"] == '{"enable_thinking":false}'
