"""Reading responses, streamed chunks and embeddings into ``ResponseInfo``.

A ``GenerateContentResponse`` has candidates (one output each: a list of outputs when the
caller asked for several), ``usage_metadata``, ``model_version`` (the response model) and
``response_id``. A stream yields ``GenerateContentResponse`` chunks: the text, thoughts and
function calls of each candidate are gathered in order, the finish reason is the last one
given, and the usage is the last chunk's that reports token counts (the final chunk's, when
the stream ran to its end).

On the caller's thread, :func:`chunk_keeper` keeps a stream's plain-text chunks as their text
(see there); :func:`read_chunks` takes such a ``str`` as the first candidate's text.

Finish reasons are the API's, lower-cased (``STOP`` -> ``stop``, ``MAX_TOKENS`` ->
``max_tokens``), as other integrations' rows have them; a prompt blocked before any
candidate gives its ``block_reason`` (``safety``...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracklm.integration import ResponseInfo, Usage
from tracklm_google_genai._contents import Turn
from tracklm_google_genai._values import fields, get, plain


def read_response(response: Any) -> ResponseInfo:
    """Read a whole ``GenerateContentResponse``."""
    return read_chunks([response])


def read_chunks(chunks: list[Any]) -> ResponseInfo:
    """Read the chunks of a stream, in order (a whole response is one chunk)."""
    turns: dict[int, Turn] = {}
    reasons: dict[int, str] = {}
    usage = model = response_id = blocked = None
    for chunk in chunks:  # read straight from each chunk's fields: there may be thousands
        if type(chunk) is str:  # a plain-text chunk, as chunk_keeper kept it
            turn = turns.get(0)
            if turn is None:
                turn = turns[0] = Turn()
            turn.add((chunk,))
            continue
        part = fields(chunk)
        chunk_usage = part.get("usage_metadata")
        if chunk_usage is not None and _has_counts(chunk_usage):
            usage = chunk_usage
        model = part.get("model_version") or model
        response_id = part.get("response_id") or response_id
        feedback = part.get("prompt_feedback")
        if feedback is not None:
            blocked = get(feedback, "block_reason") or blocked
        for candidate in part.get("candidates") or ():
            candidate_fields = fields(candidate)
            index = candidate_fields.get("index") or 0
            turn = turns.get(index)
            if turn is None:
                turn = turns[index] = Turn()
            content = candidate_fields.get("content")
            if content is not None:
                turn.add(fields(content).get("parts") or ())
            reason = candidate_fields.get("finish_reason")
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


def chunk_keeper() -> Callable[[Any], Any]:
    """What a stream keeps of each chunk (``CallHandle.wrap_stream``'s ``keep``), one per call.

    Most chunks of a stream are one candidate's next piece of text, with the model version,
    response id and token counts of the chunk before (Vertex AI gives no counts until the
    last chunk; the Gemini API may repeat the prompt's in each): such a chunk is kept as its
    text, which the garbage collector does not track (the parsed chunk, some twenty objects
    it does track, kept until the stream ends made it run during the caller's calls). The
    reader takes the last counts given, which are then the same. Any other chunk is kept
    whole: the first, the last (finish reason, final counts), function calls, thoughts,
    several candidates, a blocked prompt. Runs on the caller's thread at every chunk:
    attribute reads only.
    """
    before: Any = _UNSEEN  # the model version, response id and token counts of the chunk before

    def keep(chunk: Any) -> Any:
        nonlocal before
        usage = chunk.usage_metadata
        # response_id is missing from releases before 1.2x
        these = (
            chunk.model_version,
            getattr(chunk, "response_id", None),
            None
            if usage is None
            else (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count),
        )
        if these == before and chunk.prompt_feedback is None:
            try:  # one candidate of one part, or else not a plain-text chunk
                (candidate,) = chunk.candidates
                (part,) = candidate.content.parts
            except (TypeError, ValueError, AttributeError):
                return chunk
            text = part.text
            if (
                type(text) is str
                and candidate.finish_reason is None
                and not candidate.index
                and not part.thought
            ):
                return text
        before = these
        return chunk

    return keep


_UNSEEN = object()


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
    counts = fields(usage)
    return (
        counts.get("prompt_token_count") is not None
        or counts.get("candidates_token_count") is not None
        or counts.get("total_token_count") is not None
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
