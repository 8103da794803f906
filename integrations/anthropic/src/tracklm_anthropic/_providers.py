"""The ``gen_ai.provider.name`` of a client (GenAI semantic conventions' well-known values)."""

from __future__ import annotations

from typing import Any, Final

# a word of the client class's name (or of a base class's) -> provider
_PLATFORMS: Final = (("Bedrock", "aws.bedrock"), ("Vertex", "gcp.vertex_ai"))


def provider_of(client: Any) -> str:
    """``aws.bedrock`` for ``AnthropicBedrock`` clients, ``gcp.vertex_ai`` for
    ``AnthropicVertex`` ones (sync or async), ``anthropic`` for every other client: the
    Anthropic API itself, and the gateways that serve it as it is (``AnthropicFoundry``,
    ``AnthropicAWS``...), as the SDK's own telemetry names them."""
    cls = type(client)
    found = _by_class.get(cls)
    if found is None:
        names = [klass.__name__ for klass in cls.__mro__]
        found = next((p for word, p in _PLATFORMS for n in names if word in n), "anthropic")
        _by_class[cls] = found
    return found


_by_class: dict[type, str] = {}
