"""An integration of the fake SDK, written only against tracklm.integration."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from tracklm.integration import (
    CallHandle,
    CallStart,
    Integration,
    RequestInfo,
    ResponseInfo,
    Target,
    Usage,
)


class Reader:
    def request(self, request: dict[str, Any]) -> RequestInfo:
        params = {k: v for k, v in request.items() if k not in ("prompt", "stream")}
        return RequestInfo(inputs=request.get("prompt"), params=params)

    def response(self, request: dict[str, Any], response: Any) -> ResponseInfo:
        return ResponseInfo(
            outputs=response.text,
            usage=Usage(
                input_tokens=1, output_tokens=response.tokens, total_tokens=1 + response.tokens
            ),
            response_model=request.get("model"),
            finish_reasons=["stop"],
        )

    def chunks(self, request: dict[str, Any], chunks: list[Any]) -> ResponseInfo:
        return ResponseInfo(outputs=" ".join(chunks) or None, response_model=request.get("model"))


def start(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallStart:
    request = dict(kwargs)
    if args:
        request["prompt"] = args[0]
    return CallStart(
        "chat", kwargs.get("model"), request=request, stream=bool(kwargs.get("stream"))
    )


class FakeIntegration(Integration):
    name = "fake"
    package = "tests.autolog.fake_sdk"
    supported = ">=0"

    def targets(self) -> Sequence[Target]:
        reader = Reader()
        return [
            Target(self.package, "Client.generate", start, reader),
            Target(self.package, "Client.agenerate", start, reader),
        ]


class BrokenReaderIntegration(FakeIntegration):
    """Its reader fails: the call must not notice."""

    def targets(self) -> Sequence[Target]:
        class Broken(Reader):
            def response(self, request: dict[str, Any], response: Any) -> ResponseInfo:
                raise RuntimeError("reader bug")

        def broken_start(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallStart:
            if kwargs.get("model") == "explode":
                raise RuntimeError("start bug")
            return start(instance, args, kwargs)

        return [Target(self.package, "Client.generate", broken_start, Broken())]


class KeepingIntegration(FakeIntegration):
    """Its streams keep each chunk upper-cased (a chunk "boom" makes ``keep`` raise)."""

    def targets(self) -> Sequence[Target]:
        def keep(chunk: str) -> str:
            if chunk == "boom":
                raise RuntimeError("keep bug")
            return chunk.upper()

        def on_result(call: CallHandle, result: Any) -> Any:
            if call.start is not None and call.start.stream:
                return call.wrap_stream(result, keep=keep)
            call.done(result)
            return result

        return [Target(self.package, "Client.generate", start, Reader(), on_result)]


class RawBodyIntegration(FakeIntegration):
    """Its streams are recorded from what the SDK reads (here, each word upper-cased as it is
    read), given to the watch as ``raw_body``, not from their chunks."""

    def targets(self) -> Sequence[Target]:
        def on_result(call: CallHandle, result: Any) -> Any:
            if call.start is None or not call.start.stream:
                call.done(result)
                return result
            pieces: list[Any] = []
            result._words = _read(result._words, pieces)
            return call.wrap_stream(result, raw_body=pieces)

        return [Target(self.package, "Client.generate", start, Reader(), on_result)]


def _read(words: Iterator[str], pieces: list[Any]) -> Iterator[str]:
    for word in words:
        pieces.append(word.upper())
        yield word


class LaterIntegration(FakeIntegration):
    """Its target's start runs when the call finishes (``start_later``), and says when it did
    in ``started``; a call to model "other" is not an LLM call."""

    started: ClassVar[list[str]] = []

    def targets(self) -> Sequence[Target]:
        def later(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            self.started.append(str(args[0]))
            return None if kwargs.get("model") == "other" else start(instance, args, kwargs)

        def on_result(call: CallHandle, result: Any) -> Any:
            if hasattr(result, "__next__"):  # watched without reading the start
                return call.wrap_stream(result)
            call.done(result)
            return result

        return [Target(self.package, "Client.generate", later, Reader(), on_result, True)]
