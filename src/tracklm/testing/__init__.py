"""A local LLM API server for tests: replays recorded responses, or answers by echoing.

:class:`LLMServer` listens on ``127.0.0.1`` (a free port) in a background thread and speaks
the providers' HTTP APIs, so that tests drive the real ``openai`` (or ``anthropic``,
``google-genai``) SDK over real HTTP, with no network and no API key::

    import openai
    from tracklm.testing import LLMServer

    with LLMServer() as server:  # no cassette loaded: echo mode
        client = openai.OpenAI(api_key="test", base_url=server.openai_base_url)
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "echo: hi"
        assert server.requests[0].json()["model"] == "gpt-4o-mini"

With pytest, add ``pytest_plugins = ["tracklm.testing.pytest_plugin"]`` to a ``conftest.py``
and take the ``llm_server`` fixture (a started server in echo mode, one per test) and the
``tracklm_store`` fixture (tracklm logging into a fresh store of the test's own, see
:func:`isolated_tracklm`), to check what your app records.

Checking what was recorded
    :func:`predictions` gives a run's ``predictions.csv`` rows (oldest first, empty cells as
    None), after ``tracklm.flush()``; :func:`prediction` the only one; :func:`json_cell` reads
    a JSON cell (``inputs``, ``outputs``, ``params``)::

        with tracklm.start_run() as run:
            client.chat.completions.create(...)
        row = prediction(run.info.run_id)
        assert json_cell(row["outputs"]) == "echo: hi"

    The ``tracklm_replay`` fixture of :mod:`tracklm.testing.pytest_plugin` starts servers
    replaying the recorded cassettes of a provider: ``tracklm_replay("openai", "test_chat")``
    loads ``<fixtures>/openai/cassettes/test_chat.yaml`` (the fixtures folder is
    ``$TRACKLM_FIXTURES_DIR``, else a ``fixtures`` or ``shared/fixtures`` folder above the
    test; without one the test is skipped).

Checks for autolog integrations
    :mod:`tracklm.testing.integration_checks` holds what every integration's tests check,
    whatever the SDK: :func:`~tracklm.testing.integration_checks.assert_wire_identical` (the
    same request bytes with and without autolog),
    :func:`~tracklm.testing.integration_checks.assert_disable_restores_originals`,
    :func:`~tracklm.testing.integration_checks.dropped_stream_row` (one row per stream left
    unfinished), :func:`~tracklm.testing.integration_checks.left_and_closed_stream_rows`,
    :func:`~tracklm.testing.integration_checks.assert_not_stored` (no API key in any file)
    and :func:`~tracklm.testing.integration_checks.run_in_new_interpreter`.

Echo mode
    ``POST`` to ``/v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings`` and
    ``/v1/responses`` get deterministic answers: the text is ``"echo: "`` + the last user
    message; ``stream=True`` sends it word by word as server-sent events (with a usage chunk
    when ``stream_options={"include_usage": True}``); embeddings are small vectors derived
    from a hash of the input. When the request declares ``tools`` and the user message says
    ``call <tool name>``, the answer is a call of that tool (arguments: the JSON object after
    the name, else placeholders from its schema). Token counts are word counts; ids count up
    (``chatcmpl-echo-1``, ``resp_echo_2``...).

Replay
    ``LLMServer("path/to/cassette.yaml")`` or ``server.load_cassette(...)`` loads vcrpy YAML
    cassettes (this needs ``pip install pyyaml``). A request gets the first unused recording
    with its method and API path - the path after any prefix and version, so a recording of
    ``https://api.openai.com/v1/chat/completions`` answers ``/v1/chat/completions`` or Azure's
    ``/openai/deployments/<name>/chat/completions``, and a Vertex AI recording answers the
    Gemini API path. When several fit, the one whose recorded JSON body equals the request's
    wins. ``repeat=True`` lets recordings answer again (for benchmarks). Responses go out
    with their recorded status and headers; gzip bodies stay compressed; event streams are
    written event by event. A request nothing answers gets a 404 whose message names it.

Faults
    ``server.queue_response(500, {"error": {...}})`` answers the next request (``times=N``:
    the next N) with anything: a status, a malformed or huge body, a stream of ``chunks``
    paced by ``chunk_delay``/``first_chunk_delay``, or one cut after ``cut_after`` chunks.
    ``LLMServer(first_chunk_delay=0.2)`` delays the first event of every stream, so that a
    test can see a time to first token.

Other SDKs
    Anthropic: ``anthropic.Anthropic(api_key="test", base_url=server.url)``. Google Gen AI:
    ``genai.Client(api_key="test", http_options=types.HttpOptions(base_url=server.url))``.
"""

from __future__ import annotations

from ._echo_embeddings import embedding_vector
from ._isolation import isolated_tracklm
from ._paths import api_path
from ._predictions import json_cell, prediction, predictions
from ._requests import RecordedRequest
from ._server import LLMServer

__all__ = [
    "LLMServer",
    "RecordedRequest",
    "api_path",
    "embedding_vector",
    "isolated_tracklm",
    "json_cell",
    "prediction",
    "predictions",
]
