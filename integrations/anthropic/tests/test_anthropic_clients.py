"""Bedrock and Vertex clients, the supported releases, and turning the integration on and off."""

from __future__ import annotations

import asyncio
import inspect
import os
import textwrap
from pathlib import Path
from typing import Any

import anthropic
import pytest
import wrapt
from anthropic._base_client import AsyncAPIClient, SyncAPIClient
from anthropic_support import API_KEY, JOKE, aclient, client, events, message
from tracklm_anthropic import AnthropicIntegration
from tracklm_anthropic._providers import provider_of

import tracklm
from tracklm.integration import version_matches
from tracklm.testing import LLMServer, json_cell, prediction, predictions
from tracklm.testing.integration_checks import run_in_new_interpreter

PATCHED = [(SyncAPIClient, "request"), (AsyncAPIClient, "request")]
BEDROCK_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


def test_the_installed_anthropic_is_a_supported_release_and_the_one_ci_asked_for() -> None:
    assert version_matches(anthropic.__version__, AnthropicIntegration.supported)
    wanted = os.environ.get("TRACKLM_TEST_ANTHROPIC_VERSION")  # set by .ci/run's oldest step
    if wanted:
        assert anthropic.__version__.startswith(wanted), (anthropic.__version__, wanted)


@pytest.mark.parametrize(
    ("name", "provider"),
    [
        ("Anthropic", "anthropic"),
        ("AsyncAnthropic", "anthropic"),
        ("AnthropicBedrock", "aws.bedrock"),
        ("AsyncAnthropicBedrock", "aws.bedrock"),
        ("AnthropicVertex", "gcp.vertex_ai"),
        ("AsyncAnthropicVertex", "gcp.vertex_ai"),
    ],
)
def test_the_provider_is_named_from_the_clients_class(name: str, provider: str) -> None:
    cls = getattr(anthropic, name)
    assert provider_of(cls.__new__(cls)) == provider


def _bedrock(server: LLMServer, cls: Any = anthropic.AnthropicBedrock) -> Any:
    common: dict[str, Any] = {"aws_region": "us-east-1", "base_url": server.url, "max_retries": 0}
    if "api_key" in inspect.signature(cls.__init__).parameters:
        return cls(api_key=API_KEY, **common)
    pytest.importorskip("botocore", reason="this release signs Bedrock requests with botocore")
    return cls(aws_access_key="AKIDEXAMPLE", aws_secret_key=API_KEY, **common)


def test_a_bedrock_call_is_recorded_with_its_provider_and_model(server: LLMServer) -> None:
    server.queue_response(200, message("from bedrock", model="claude-3-5-haiku-20241022"))
    with tracklm.start_run() as run:
        _bedrock(server).messages.create(
            model=BEDROCK_MODEL, max_tokens=9, messages=JOKE, extra_body={"top_k": 3}
        )

    sent = server.requests[0]
    assert sent.path == f"/model/{BEDROCK_MODEL}/invoke"
    assert "model" not in sent.json()  # Bedrock moves it to the URL; the row keeps it
    got = prediction(run)
    assert (got["provider"], got["model"], got["outputs"]) == (
        "aws.bedrock",
        BEDROCK_MODEL,
        "from bedrock",
    )
    assert json_cell(got["params"]) == {"model": BEDROCK_MODEL, "max_tokens": 9, "top_k": 3}


def _vertex(server: LLMServer, cls: Any = anthropic.AnthropicVertex) -> Any:
    return cls(
        region="us-east5",
        project_id="tracklm-test",
        access_token=API_KEY,
        base_url=server.url,
        max_retries=0,
    )


def test_vertex_calls_sync_and_streamed_async_are_recorded_as_vertex_ai(
    server: LLMServer,
) -> None:
    server.queue_response(200, message("from vertex"))
    server.queue_response(200, chunks=events("streamed", " from vertex"))

    async def stream() -> None:
        async with _vertex(server, anthropic.AsyncAnthropicVertex) as aio:
            found = await aio.messages.create(
                model="claude-3-5-haiku@20241022", max_tokens=9, messages=JOKE, stream=True
            )
            async for _ in found:
                pass

    with tracklm.start_run() as run:
        _vertex(server).messages.create(
            model="claude-3-5-haiku@20241022", max_tokens=9, messages=JOKE
        )
        asyncio.run(stream())

    prefix = "/projects/tracklm-test/locations/us-east5/publishers/anthropic/models/"
    assert [r.path for r in server.requests] == [
        prefix + "claude-3-5-haiku@20241022:rawPredict",
        prefix + "claude-3-5-haiku@20241022:streamRawPredict",
    ]
    found = predictions(run)
    assert [(r["provider"], r["model"], r["outputs"], r["stream"]) for r in found] == [
        ("gcp.vertex_ai", "claude-3-5-haiku@20241022", "from vertex", False),
        ("gcp.vertex_ai", "claude-3-5-haiku@20241022", "streamed from vertex", True),
    ]
    # the client takes model out of the body it sends (in place, in old releases): not ours
    assert "model" not in server.requests[0].json()
    assert json_cell(found[0]["params"]) == {"model": "claude-3-5-haiku@20241022", "max_tokens": 9}


def test_token_counting_is_not_a_call_to_record(server: LLMServer) -> None:
    if not hasattr(anthropic.resources.messages.Messages, "count_tokens"):
        pytest.skip(f"anthropic {anthropic.__version__} has no messages.count_tokens")
    server.queue_response(200, {"input_tokens": 17})
    with tracklm.start_run() as run:
        counted = client(server).messages.count_tokens(model="m", messages=JOKE)

    assert counted.input_tokens == 17
    assert tracklm.flush(timeout=30).ok
    assert tracklm.get_run(run.info.run_id).data.metrics == {}


def test_exclude_opt_out_and_disable_leave_calls_unrecorded(server: LLMServer) -> None:
    server.queue_response(200, message(), times=5)

    @tracklm.no_autolog
    def quiet() -> None:
        client(server).messages.create(model="decorated", max_tokens=5, messages=JOKE)

    tracklm.autolog(exclude=["anthropic"])
    with tracklm.start_run() as excluded:
        client(server).messages.create(model="excluded", max_tokens=5, messages=JOKE)
    tracklm.autolog(include=["anthropic"])
    with tracklm.start_run() as run:
        quiet()
        with tracklm.autolog_disabled():
            client(server).messages.create(model="disabled", max_tokens=5, messages=JOKE)
        client(server).messages.create(model="recorded", max_tokens=5, messages=JOKE)

    originals = {(cls, name): cls.__dict__[name] for cls, name in PATCHED}
    assert all(isinstance(f, wrapt.FunctionWrapper) for f in originals.values())
    tracklm.autolog(disable=True)
    for (cls, name), wrapper in originals.items():
        assert cls.__dict__[name] is wrapper.__wrapped__
    with tracklm.start_run() as after:
        client(server).messages.create(model="off", max_tokens=5, messages=JOKE)

    assert len(server.requests) == 5
    assert [r["model"] for r in predictions(run)] == ["recorded"]
    assert tracklm.flush(timeout=30).ok
    for unrecorded in (excluded, after):
        assert tracklm.get_run(unrecorded.info.run_id).data.metrics == {}


def test_autolog_called_before_anthropic_is_imported_records_its_calls(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        import tracklm

        tracklm.set_tracking_uri(sys.argv[1])
        assert "anthropic" in tracklm.autolog()
        assert "anthropic" not in sys.modules, "autolog() must not import the SDK"

        import anthropic
        from tracklm.testing import LLMServer

        body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                "content": [{"type": "text", "text": "late import"}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 1, "output_tokens": 2}}
        with LLMServer(echo=False) as server:
            server.queue_response(200, body)
            client = anthropic.Anthropic(api_key="k", base_url=server.url)
            with tracklm.start_run() as run:
                client.messages.create(model="m", max_tokens=5,
                                       messages=[{"role": "user", "content": "hi"}])
        assert tracklm.flush(timeout=30).ok
        print(run.info.run_id)
        """
    )
    run_id = run_in_new_interpreter(script, tmp_path / "late", tmp_path / "j2")

    tracklm.set_tracking_uri(str(tmp_path / "late"))
    found = tracklm.load_table("predictions.csv", run_ids=[run_id])
    assert list(found["outputs"]) == ["late import"]
    assert list(found["total_tokens"]) == [3]


def test_async_calls_of_one_client_in_concurrent_tasks_each_land_in_their_own_run(
    server: LLMServer,
) -> None:
    server.queue_response(200, chunks=events("streamed"), times=20)

    async def task(aio: anthropic.AsyncAnthropic, number: int) -> str:
        with tracklm.start_run(run_name=f"task-{number}") as run:
            stream = await aio.messages.create(
                model=f"m-{number}", max_tokens=5, messages=JOKE, stream=True
            )
            async for _ in stream:
                await asyncio.sleep(0)  # let the other tasks run mid-stream
            return run.info.run_id

    async def main() -> list[str]:
        async with aclient(server, max_retries=3) as aio:
            return await asyncio.gather(*(task(aio, n) for n in range(20)))

    run_ids = asyncio.run(main())

    assert tracklm.flush(timeout=30).ok
    for number, run_id in enumerate(run_ids):
        (got,) = tracklm.load_table("predictions.csv", run_ids=[run_id]).to_dict("records")
        assert (got["model"], got["outputs"], got["step"]) == (f"m-{number}", "streamed", 1)
