"""Echo answers for ``/v1/embeddings``: small vectors derived from a hash of each input."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Mapping
from typing import Any

from ._echo_common import count_tokens
from ._reply import Reply, json_reply

__all__ = ["DEFAULT_DIMENSIONS", "embedding_vector", "embeddings"]

DEFAULT_DIMENSIONS = 8


def embeddings(request: Mapping[str, Any]) -> Reply:
    """One vector per input; ``encoding_format="base64"`` sends little-endian float32 bytes."""
    texts = _inputs(request.get("input"))
    dimensions = request.get("dimensions")
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
        dimensions = DEFAULT_DIMENSIONS
    as_base64 = request.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = embedding_vector(text, dimensions)
        encoded: Any = vector
        if as_base64:
            encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = count_tokens(*texts)
    return json_reply(
        200,
        {
            "object": "list",
            "data": data,
            "model": str(request.get("model") or "echo"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
    )


def embedding_vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The echo embedding of a text: values in [-1, 1), exact in float32 and float64 alike."""
    digest = b""
    block = 0
    while len(digest) < dimensions:
        digest += hashlib.sha256(f"{block}:{text}".encode()).digest()
        block += 1
    return [(byte - 128) / 128 for byte in digest[:dimensions]]


def _inputs(raw: Any) -> list[str]:
    """Each input as text: strings as they are, token arrays as their JSON."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(item, int) for item in raw):
        return [json.dumps(raw)]
    if isinstance(raw, list):
        return [item if isinstance(item, str) else json.dumps(item) for item in raw]
    return [""]
