"""The provider-independent part of a request path, used to match requests to recordings."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["api_path"]

# `/openai/deployments/<name>/...`: Azure OpenAI puts the deployment before the operation.
_AZURE = re.compile(r"(?:^|/)openai/deployments/[^/]+/(.*)$")
# The first version segment (`v1`, `v1beta`, `v1beta1`, `v2alpha`) ends the host-specific prefix.
_VERSION = re.compile(r"(?:^|/)v\d+(?:(?:alpha|beta)\d*)?/(.*)$")
# Vertex AI names a model by publisher (and project and location); the Gemini API by
# `models/<name>` alone.
_VERTEX = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?publishers/[^/]+/(models/.*)$")


def api_path(url_or_path: str) -> str:
    """The operation a URL or path names, without host, prefix, API version or query.

    ``https://api.openai.com/v1/chat/completions``, ``/v1/chat/completions``,
    ``/proxy/v1/chat/completions`` and ``/openai/deployments/gpt4/chat/completions`` all give
    ``chat/completions``; a Vertex AI path
    ``/v1beta1/projects/p/locations/l/publishers/google/models/m:generateContent`` and a Gemini
    API path ``/v1beta/models/m:generateContent`` both give ``models/m:generateContent``.
    """
    path = urlsplit(url_or_path).path.strip("/")
    azure = _AZURE.search(path)
    if azure is not None:
        return azure.group(1)
    version = _VERSION.search(path)
    if version is not None:
        path = version.group(1)
    vertex = _VERTEX.match(path)
    if vertex is not None:
        return vertex.group(1)
    return path
