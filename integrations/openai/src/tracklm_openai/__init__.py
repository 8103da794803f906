"""tracklm autolog for the OpenAI Python SDK.

Installed beside ``tracklm``, it is found by ``tracklm.autolog()``; nothing else to do::

    import openai, tracklm
    tracklm.autolog()
    client = openai.OpenAI()
    client.chat.completions.create(model="gpt-4o-mini", messages=[...], temperature=0.2)

What is recorded: every call of ``chat.completions`` (``create``, ``parse``, the ``stream``
helper), ``completions.create``, ``embeddings.create`` and ``responses`` (``create``,
``parse``, ``stream``), sync and async, in their plain, ``with_raw_response`` and
``with_streaming_response`` forms, for ``OpenAI``, ``AzureOpenAI`` and any OpenAI-compatible
server reached through ``base_url`` (vLLM, Ollama, Groq...; the provider is named from the
client). The request is never changed: no header, no ``stream_options`` are added, so a
stream without a usage chunk has unknown token counts.

Supported: ``openai`` 1.40 and newer.
"""

from __future__ import annotations

from tracklm_openai._integration import OpenAIIntegration

__all__ = ["OpenAIIntegration"]
