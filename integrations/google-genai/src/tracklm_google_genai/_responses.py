"""Reading responses, streamed chunks and embeddings into ``ResponseInfo``.

A ``GenerateContentResponse`` has candidates (one output each: a list of outputs when the
caller asked for several), ``usage_metadata``, ``model_version`` (the response model) and
``response_id``. A stream yields ``GenerateContentResponse`` chunks: the text, thoughts and
function calls of each candidate are gathered in order, the finish reason is the last one
given, and the usage is the last chunk's that reports token counts (the final chunk's, when
the stream ran to its end).

Finish reasons are the API's, lower-cased (``STOP`` -> ``stop``, ``MAX_TOKENS`` ->
``max_tokens``), as other integrations' rows have them; a prompt blocked before any
candidate gives its ``block_reason`` (``safety``...).
"""

from __future__ import annotations

from typing import Any

from tracklm.integration import ResponseInfo, Usage
from tracklm_google_genai._contents import Turn, parts_of
from tracklm_google_genai._values import get, plain


def read_response(response: Any) -> ResponseInfo:
    """Read a whole ``GenerateContentResponse``."""
    return read_chunks([response])


def read_chunks(chunks: list[Any]) -> ResponseInfo:
    """Read the chunks of a stream, in order (a whole response is one chunk)."""
    turns: dict[int, Turn] = {}
    reasons: dict[int, str] = {}
    usage = model = response_id = blocked = None
    for chunk in chunks:
        if _has_counts(get(chunk, "usage_metadata")):
            usage = get(chunk, "usage_metadata")
        model = get(chunk, "model_version") or model
        response_id = get(chunk, "response_id") or response_id
        blocked = get(get(chunk, "prompt_feedback"), "block_reason") or blocked
        for candidate in get(chunk, "candidates", []):
            index = get(candidate, "index", 0)
            turns.setdefault(index, Turn()).add(parts_of(get(candidate, "content")))
            reason = get(candidate, "finish_reason")
            if reason is not None:
                reasons[index] = str(plain(reason)).lower()
    indexes = sorted(set(turns) | set(reasons))
    outputs = [turns[i].output() if i in turns else None for i in indexes]
    finish = [reasons[i] for i in indexes if i in reasons]
    if not finish and blocked is not None:
        finish = [str(plain(blocked)).lower()]
    return ResponseInfo(
        outputs=outputs[0] if len(outputs) == 1 else (outputs or None),
        usage=_usage(usage),
        response_model=model,
        response_id=response_id,
        finish_reasons=finish,
    )


def read_embeddings(response: Any) -> ResponseInfo:
    """Read an ``EmbedContentResponse``: how many vectors, of which size, and the tokens
    where the API counts them (``usage_metadata``, or Vertex AI's per-vector statistics)."""
    embeddings = get(response, "embeddings", [])
    values = get(embeddings[0], "values") if embeddings else None
    dimensions = len(values) if isinstance(values, list) else None
    usage = get(response, "usage_metadata")
    tokens = get(usage, "prompt_token_count")
    if tokens is None:
        counts = [get(get(e, "statistics"), "token_count") for e in embeddings]
        if counts and all(c is not None for c in counts):
            tokens = int(sum(counts))
    return ResponseInfo(
        outputs={"embeddings": len(embeddings), "dimensions": dimensions},
        usage=Usage(input_tokens=tokens, total_tokens=get(usage, "total_token_count", tokens)),
    )


def _has_counts(usage: Any) -> bool:
    return any(
        get(usage, name) is not None
        for name in ("prompt_token_count", "candidates_token_count", "total_token_count")
    )


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=get(usage, "prompt_token_count"),
        output_tokens=get(usage, "candidates_token_count"),
        total_tokens=get(usage, "total_token_count"),
        cached_input_tokens=get(usage, "cached_content_token_count"),
        reasoning_tokens=get(usage, "thoughts_token_count"),
    )
