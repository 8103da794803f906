"""Under autolog, a ``messages.stream()`` helper builds no model class after a garbage
collection between two streams: pydantic finds the parametrized message class it builds for
each stream (~1.7 ms before the first text) in its cache.

Run in a fresh interpreter: earlier calls in this process (``messages.parse()`` evaluates
``Type[ParsedMessage[...]]``) can leave that class in ``typing``'s caches, which would keep it
alive without tracklm holding it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import anthropic
from anthropic_support import API_KEY, events

from tracklm.testing import LLMServer
from tracklm.testing.integration_checks import run_in_new_interpreter

SCRIPT = textwrap.dedent(
    """
    import gc, importlib, json, sys, weakref

    import anthropic
    import tracklm
    from tracklm.autolog import set_strict

    set_strict(True)
    tracklm.set_tracking_uri(sys.argv[1])
    tracklm.autolog()
    client = anthropic.Anthropic(api_key=sys.argv[3], base_url=sys.argv[2], max_retries=0)
    joke = [{"role": "user", "content": "Tell me a joke"}]

    def found(module, name):
        try:
            return getattr(importlib.import_module(module), name, None)
        except ImportError:
            return None

    # helper -> the generic model it parametrizes for each stream (None before structured outputs)
    helpers = {
        "messages": (client.messages, found("anthropic.types", "ParsedMessage")),
        "beta.messages": (
            getattr(getattr(client, "beta", None), "messages", None),
            found("anthropic.types.beta.parsed_beta_message", "ParsedBetaMessage"),
        ),
    }

    def stream(messages):
        with messages.stream(model="m", max_tokens=5, messages=joke) as helper:
            assert helper.get_final_text() == "Hello there"

    built = {}  # helper -> how many classes the second stream built
    with tracklm.start_run():
        for name, (messages, model) in helpers.items():
            if model is None or not hasattr(messages, "stream"):
                continue
            stream(messages)
            gc.collect()  # what tracklm's allocations make happen between streams
            alive = [weakref.ref(c) for c in model.__subclasses__()]  # weakly: not to keep them
            gc.disable()  # nothing freed while the second stream runs and is counted
            stream(messages)
            before = [ref() for ref in alive]
            built[name] = sum(all(c is not b for b in before) for c in model.__subclasses__())
            gc.enable()
    print(json.dumps({"built": built, "ok": tracklm.flush(timeout=30).ok}))
    """
)


def test_a_stream_helper_builds_no_model_class_after_a_collection_between_streams(
    server: LLMServer, tmp_path: Path
) -> None:
    for _ in range(4):  # two streams for each helper
        server.queue_response(200, chunks=events("Hello", " there"))
    last = run_in_new_interpreter(
        SCRIPT, tmp_path / "store", tmp_path / "journal", server.url, API_KEY
    )
    result = json.loads(last)

    assert result["ok"]
    # releases before structured outputs have no such class, and nothing to check
    assert ("messages" in result["built"]) == hasattr(anthropic.types, "ParsedMessage")
    assert all(count == 0 for count in result["built"].values()), result["built"]
