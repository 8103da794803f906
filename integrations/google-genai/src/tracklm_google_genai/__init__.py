"""tracklm autolog for the Google Gen AI Python SDK (``google-genai``: Gemini API and Vertex AI).

Installed beside ``tracklm``, it is found by ``tracklm.autolog()``; nothing else to do, and
the order of ``from google import genai`` and ``tracklm.autolog()`` does not matter::

    from google import genai
    import tracklm

    tracklm.autolog()
    client = genai.Client()  # or genai.Client(vertexai=True, project=..., location=...)
    with tracklm.start_run(run_name="prompt-v2"):
        client.models.generate_content(
            model="gemini-2.5-flash",
            contents="Write a haiku about tracing.",
            config={"temperature": 0.2, "thinking_config": {"thinking_budget": 512}},
        )

Turn it off for this SDK alone with ``tracklm.autolog(exclude=["google-genai"])``.

What is recorded
    Every call of ``generate_content``, ``generate_content_stream`` and ``embed_content`` on
    ``client.models`` and ``client.aio.models``, and every turn of a chat
    (``client.chats.create(...).send_message`` / ``send_message_stream``, and
    ``client.aio.chats``), which the SDK sends through those methods: one row per turn,
    whose inputs are the whole history sent. The row's ``operation`` is
    ``generate_content`` (the GenAI semantic conventions' name for it) or ``embedding``;
    its ``provider`` is ``gcp.gemini`` for the Gemini Developer API and ``gcp.vertex_ai``
    for a Vertex AI client.

    Inputs are chat messages, as in an OpenAI chat row: the ``system_instruction`` first
    (``{"role": "system", ...}``), then the contents (``user``, ``assistant`` for the
    model's turns, ``tool`` for function responses); the content is the text, or typed
    parts where there is more than text (images and other data by size, never their
    bytes). An embedding's inputs are its text(s).

    Params are the ``config`` fields the caller set, never the SDK's defaults:
    ``temperature``, ``top_p``, ``top_k``, ``max_output_tokens``, ``candidate_count``,
    ``seed``, ``stop_sequences``, ``presence_penalty``, ``frequency_penalty``,
    ``response_mime_type``, ``thinking_budget`` / ``thinking_level`` / ``include_thoughts``
    (from ``thinking_config``), ``safety_settings``..., with ``model``; ``tools`` are listed
    by name. ``http_options`` (headers, perhaps a key) and the SDK's own switches
    (``automatic_function_calling``...) are not params.

    Outputs are the response text; a dict where the model called functions
    (``{"content", "tool_calls": [{"id", "name", "arguments"}]}``) or returned thought
    summaries (``"thoughts"``, apart from the text); a list when several candidates were
    asked for. Finish reasons are the API's, lower-cased (``stop``, ``max_tokens``...). The
    response model is ``model_version``, the response id ``response_id``.

    Tokens come from ``usage_metadata``: ``prompt_token_count`` (input, cached tokens
    included), ``candidates_token_count`` (output: thinking tokens are not in it),
    ``total_token_count``, ``cached_content_token_count`` (cached input) and
    ``thoughts_token_count`` (reasoning). A stream takes them from the last chunk that has
    them; a stream cut short before it has unknown (empty) counts, not 0.

What is never changed
    The request (the same bytes go out), the return value (the SDK's own
    ``GenerateContentResponse``; a stream stays the SDK's generator or async iterator,
    behind a transparent proxy) and an exception (the same ``google.genai.errors.APIError``
    object, re-raised; the row gets ``status=error``). The API key (``x-goog-api-key``) and
    the client's credentials are never read.

Streams
    A stream's row is finished once: when it is exhausted, closed, fails, or is dropped
    unfinished (broken out of, or never iterated); ``ttft_ms`` is the time to its first
    chunk. The HTTP request of a sync stream is sent at its first ``next()``, as the SDK
    does it.

Automatic function calling
    One ``models.generate_content`` call is one row even when the SDK makes several
    requests inside it (automatic function calling with Python functions as tools,
    automatic continuation): its outputs and usage are those of the response returned.
    Chats of recent SDK releases run automatic function calling themselves, calling
    ``generate_content`` once per round trip: there, each round trip is a row.

Supported releases: :attr:`GoogleGenAIIntegration.supported`; with another release
installed, calls are not recorded and tracklm says so once in its log.
"""

from __future__ import annotations

from tracklm_google_genai._integration import GoogleGenAIIntegration

__all__ = ["GoogleGenAIIntegration"]
