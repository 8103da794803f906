"""tracklm autolog for the OpenAI Python SDK and OpenAI-compatible servers.

Installed beside ``tracklm``, it is found by ``tracklm.autolog()``; nothing else to do, and
the order of ``import openai`` and ``tracklm.autolog()`` does not matter::

    import openai, tracklm
    tracklm.autolog()
    client = openai.OpenAI()
    with tracklm.start_run(run_name="prompt-v2"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[...], temperature=0.2)

What is recorded
    Every call of ``chat.completions`` (``create``, ``parse``, the ``stream`` helper),
    ``completions.create``, ``embeddings.create`` and ``responses`` (``create``, ``parse``,
    the ``stream`` helper), sync and async, plain and through ``with_raw_response`` and
    ``with_streaming_response``; for ``OpenAI``, ``AzureOpenAI`` and any OpenAI-compatible
    server reached through ``base_url`` (vLLM, Ollama, Groq...). The row's ``provider`` is
    named from the client: ``openai``, ``azure.ai.openai``, ``groq``... and, for a host it
    does not know, the host name.

    Params are the request's fields as the caller gave them, ``extra_body`` included (so a
    vLLM ``top_k`` or ``min_p`` is a param); ``messages`` / ``prompt`` / ``input`` are the
    row's ``inputs``, and ``tools`` are listed by name. What the SDK adds on its own is left
    out: ``embeddings.create`` asks for base64 vectors when no ``encoding_format`` is given,
    and that ``encoding_format`` is not a param (one given by the caller is).

    Token counts come from the response's usage, with cached and reasoning tokens where the
    API reports them. A stream sent without ``stream_options={"include_usage": True}`` has
    no usage chunk: its token counts are unknown (empty), not 0.

What is never changed
    The request (no header, no ``stream_options`` is added), the return value (the SDK's own
    object: a ``Stream`` stays an ``openai.Stream`` with its ``response``, ``close()`` and
    ``with``; a raw response keeps ``headers``, ``parse()``, ``iter_lines()``...) and an
    exception (the same object, re-raised; the row gets ``status=error``).

Streams and raw responses
    A stream's row is finished once: when it is exhausted, closed, left by ``with``, fails,
    or is dropped unfinished (when the garbage collector frees it: the SDK's ``Stream`` holds
    a reference cycle of its own), and at the latest at exit. A ``with_streaming_response``
    result is recorded from what the caller reads of it (``parse()``, ``read()``,
    ``text()``, ``json()``; a body read with ``iter_bytes()`` / ``iter_text()`` /
    ``iter_lines()`` counts as a stream, with its time to the first piece), and finished
    when it is closed or dropped.

Supported releases: :attr:`OpenAIIntegration.supported`; with another release installed,
calls are not recorded and tracklm says so once in its log.
"""

from __future__ import annotations

from tracklm_openai._integration import OpenAIIntegration

__all__ = ["OpenAIIntegration"]
