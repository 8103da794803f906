"""The integration API: how an SDK integration tells tracklm what to record.

An integration is a small module that knows one SDK. It names the methods to wrap, says on the
caller's thread what a call is (cheaply: references only), and reads requests and responses
into plain values on tracklm's background thread. The core owns everything else: patching and
undoing it, opt-out, error shielding, streams (finished exactly once, time to first chunk),
runs, params, metrics, the predictions row, and OpenTelemetry spans.

The smallest complete integration::

    from tracklm.integration import (
        CallHandle, CallStart, Integration, RequestInfo, ResponseInfo, Target, Usage,
    )

    class EchoReader:
        def request(self, request):            # background thread
            return RequestInfo(inputs=request["prompt"], params={"model": request["model"]})

        def response(self, request, response): # background thread
            return ResponseInfo(outputs=response.text, usage=Usage(output_tokens=response.n))

        def chunks(self, request, chunks):     # background thread, for streams
            return ResponseInfo(outputs="".join(c.text for c in chunks))

    def start(instance, args, kwargs):         # caller's thread: keep it cheap
        return CallStart("chat", kwargs.get("model"), request=dict(kwargs),
                         stream=bool(kwargs.get("stream")))

    class EchoIntegration(Integration):
        name = "echo"                          # the entry-point name
        package = "echo_sdk"                   # the module whose import triggers patching
        supported = ">=1.0"                    # versions of the distribution `package`

        def targets(self):
            return [Target("echo_sdk.client", "Client.generate", start, EchoReader())]

Register it in the integration's ``pyproject.toml``::

    [project.entry-points."tracklm.integrations"]
    echo = "tracklm_echo:EchoIntegration"

A target's ``on_result`` decides what happens to the SDK's return value; the default records
it as the response, or wraps it with :meth:`CallHandle.wrap_stream` when the call streams.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

__all__ = [
    "CallHandle",
    "CallStart",
    "Integration",
    "Reader",
    "RequestInfo",
    "ResponseInfo",
    "Target",
    "Usage",
]


@dataclass(frozen=True)
class CallStart:
    """What a call is, found on the caller's thread (references only, no serialization).

    ``request`` is whatever the reader's :meth:`Reader.request` needs later; copy containers
    the caller may change after the call returns (a chat loop appends to its ``messages``).
    """

    operation: str
    """``chat``, ``completion``, ``embedding``, ``responses`` ..."""
    model: str | None
    request: Any
    stream: bool = False
    provider: str | None = None
    """The provider's name (``openai``, ``azure.ai.openai``, ``groq``...); the integration's
    name when None."""


@dataclass
class Usage:
    """Token counts; None where the API did not report them (never a made-up 0)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


@dataclass
class RequestInfo:
    """A request read into plain values: what was asked, and with which parameters."""

    inputs: Any
    """Messages, prompt or input, as JSON-like values."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Request parameters as the caller gave them (``model``, ``temperature``, ``top_k``...)."""


@dataclass
class ResponseInfo:
    """A response read into plain values."""

    outputs: Any = None
    """The response text; JSON-like values where it is tool calls or structured."""
    usage: Usage = field(default_factory=Usage)
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: Sequence[str] = ()


class Reader(Protocol):
    """Reads a call's request and response; runs on tracklm's background thread."""

    def request(self, request: Any) -> RequestInfo:
        """Read the ``CallStart.request`` kept on the caller's thread."""

    def response(self, request: Any, response: Any) -> ResponseInfo:
        """Read what the call returned (``request`` is the ``CallStart.request``)."""

    def chunks(self, request: Any, chunks: list[Any]) -> ResponseInfo:
        """Read the chunks a stream yielded, in order (possibly none, or cut short)."""


class CallHandle(Protocol):
    """The core's handle on one call in flight, given to a target's ``on_result``."""

    def done(self, response: Any) -> None:
        """The call returned ``response`` (read later by the reader). After
        :meth:`wrap_stream`, ``done(None)`` finishes the stream with the chunks seen so far.
        Only the first ``done`` / ``fail`` of a call counts; neither raises (but in strict
        mode)."""

    def fail(self, error: BaseException) -> None:
        """The call failed with ``error``."""

    def wrap_stream(self, stream: Any) -> Any:
        """Return ``stream`` wrapped so each chunk is seen and the call finished exactly once
        (exhausted, closed, left by ``with``, failed, or dropped unfinished). The wrapper is
        a transparent proxy: ``isinstance`` and every attribute still see the SDK's object."""


def _default_on_result(call: CallHandle, start: CallStart, result: Any) -> Any:
    if start.stream:
        return call.wrap_stream(result)
    call.done(result)
    return result


@dataclass(frozen=True)
class Target:
    """One method to wrap: ``attribute`` (``"Class.method"``) of module ``module``."""

    module: str
    attribute: str
    start: Callable[[Any, tuple[Any, ...], dict[str, Any]], CallStart | None]
    """Called before the SDK method with (instance, args, kwargs); None means "not an LLM
    call, do not record"."""
    reader: Reader
    on_result: Callable[[CallHandle, CallStart, Any], Any] = _default_on_result
    """Called with the SDK's return value; returns what the caller gets (the same object,
    or a transparent proxy of it)."""


class Integration(ABC):
    """Base class of integrations; see the module docstring for a complete example."""

    name: ClassVar[str]
    """Entry-point name, used by ``autolog(include=..., exclude=...)``."""
    package: ClassVar[str]
    """Import name of the SDK; patching happens when it is (or once it is) imported."""
    distribution: ClassVar[str | None] = None
    """Distribution whose version is checked against ``supported`` (default: ``package``)."""
    supported: ClassVar[str] = ""
    """PEP 440 version specifier of the SDK releases this integration supports."""

    @abstractmethod
    def targets(self) -> Sequence[Target]:
        """The methods to wrap (imported lazily: called once the SDK is imported)."""
