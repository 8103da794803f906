"""tracklm autolog for the Anthropic Python SDK: Claude through the Anthropic API, Amazon
Bedrock and Google Vertex AI.

Installed beside ``tracklm``, it is found by ``tracklm.autolog()``; nothing else to do, and
the order of ``import anthropic`` and ``tracklm.autolog()`` does not matter::

    import anthropic, tracklm
    tracklm.autolog()                     # or autolog(include=["anthropic"])
    client = anthropic.Anthropic()
    with tracklm.start_run(run_name="prompt-v2"):
        client.messages.create(
            model="claude-sonnet-4-5", max_tokens=1024, system="Be brief.",
            messages=[{"role": "user", "content": "Hello"}],
            extra_body={"temperature": 0.2, "top_k": 40},
        )

What is recorded
    Every Messages call: ``messages.create`` (streamed or not), ``messages.parse``, the
    ``messages.stream()`` helper, and the same methods of ``beta.messages``; sync and async;
    plain and through ``with_raw_response`` and ``with_streaming_response``; for
    ``Anthropic``, ``AnthropicBedrock``, ``AnthropicVertex`` and the other clients built on
    the same classes. The row's ``provider`` (and the span's ``gen_ai.provider.name``) is
    ``aws.bedrock`` for Bedrock clients, ``gcp.vertex_ai`` for Vertex ones and ``anthropic``
    otherwise; its ``operation`` is ``chat``. Token counting (``count_tokens``), batches and
    the legacy Text Completions API are not recorded.

    Inputs: the ``messages`` list, with ``system`` (a string or text blocks, as sent) first
    as a message of role ``system``, so that it is hidden by ``log_inputs=False``, cut by
    ``max_text_chars`` and seen by ``redact`` like the rest of the prompt.

    Params: the request's other fields as the caller gave them (``model``, ``max_tokens``,
    ``temperature``, ``top_p``, ``top_k``, ``stop_sequences``, ``metadata``, ``tool_choice``,
    ``thinking``...), ``extra_body`` included: releases that dropped sampling parameters
    from ``messages.create``'s signature (or predate ``thinking``) take them there, and they
    are params all the same. ``thinking={"type": "enabled", "budget_tokens": 2048}`` also
    gives the param ``thinking_budget_tokens=2048``; ``tools`` are listed by name.

    Outputs: the answer's text when it is only text (the parsed object for
    ``messages.parse(output_format=...)``); otherwise JSON with ``content`` (the text),
    ``tool_calls`` (``{"id", "name", "arguments"}``, the tool's ``input`` as arguments) and
    ``thinking`` (the thinking blocks' text, kept apart from the answer), each present only
    when there is some. ``finish_reason`` is the ``stop_reason``.

    Tokens: the API's ``input_tokens`` counts only the input after the last cache
    breakpoint, so the row's ``input_tokens`` is ``input_tokens +
    cache_creation_input_tokens + cache_read_input_tokens`` - every input token, as for the
    other providers and in the GenAI semantic conventions; ``cached_input_tokens`` is
    ``cache_read_input_tokens``; ``total_tokens`` is that input plus ``output_tokens``;
    ``reasoning_tokens`` is the thinking tokens where the API reports them. A count the API
    did not report is empty, not 0.

What is never changed
    The request (no header or field added: the same bytes go out), the return value (the
    SDK's own object: a ``Stream`` stays an ``anthropic.Stream``; ``messages.stream()``
    gives the SDK's ``MessageStream`` with ``text_stream``, ``until_done()``,
    ``get_final_message()``...; a raw response keeps ``headers`` and ``parse()``) and an
    exception (the same object, re-raised; the row gets ``status=error``). One exception, of
    form only: a ``messages`` (or ``system``, ``tools``...) given as a one-shot iterator such
    as a generator is handed to the SDK as a generator yielding the same items, so that the
    row can keep what the SDK read of it.

Streams
    A stream is the SDK's object itself (``type(s) is anthropic.Stream``, which
    ``isinstance`` needs in releases before 1.0): tracklm watches the event iterator inside
    it. A streamed call's row is built from the raw events (``message_start``: model, id and
    input tokens; ``content_block_delta``: text, tool input JSON and thinking;
    ``message_delta``: stop reason and output tokens), with ``ttft_ms`` at the first event.
    It is finished once: when the stream is exhausted, closed, left by ``with``, fails (the
    row has what came before, and the error), or is dropped unread (the SDK's stream refers
    to itself through its generator, so that is at the garbage collector's next pass, or at
    exit); a ``messages.stream()``
    helper's call is finished when its ``with`` block ends. A ``with_streaming_response``
    result is recorded from what the caller reads of it, and finished when it is closed or
    dropped.

Supported releases: :attr:`AnthropicIntegration.supported`; with another release installed,
calls are not recorded and tracklm says so once in its log.
"""

from __future__ import annotations

from tracklm_anthropic._integration import AnthropicIntegration

__all__ = ["AnthropicIntegration"]
