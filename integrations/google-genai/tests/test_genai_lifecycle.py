"""Turning autolog on and off, by name and by scope; the supported SDK releases."""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path

import pytest
from google.genai.models import AsyncModels, Models
from google_support import GENAI_VERSION, MODEL, answer, client
from tracklm_google_genai import GoogleGenAIIntegration

import tracklm
from tracklm.integration import version_matches
from tracklm.testing import LLMServer, json_cell, prediction, predictions
from tracklm.testing.integration_checks import (
    assert_disable_restores_originals,
    run_in_new_interpreter,
)

METHODS = ("generate_content", "generate_content_stream", "embed_content")
PATCHED = [(cls, name) for cls in (Models, AsyncModels) for name in METHODS]


def test_the_installed_google_genai_is_a_supported_release_and_the_one_ci_asked_for() -> None:
    assert version_matches(GENAI_VERSION, GoogleGenAIIntegration.supported)
    wanted = os.environ.get("TRACKLM_TEST_GOOGLE_GENAI_VERSION")  # set by .ci/run's oldest step
    if wanted:
        assert GENAI_VERSION.startswith(wanted), (GENAI_VERSION, wanted)


def test_disable_puts_back_the_sdks_own_function_objects(server: LLMServer) -> None:
    server.queue_response(200, answer("ok"), times=2)

    def call(text: str) -> None:
        client(server).models.generate_content(model=MODEL, contents=text)

    row = assert_disable_restores_originals(PATCHED, call)
    assert json_cell(row["inputs"]) == [{"role": "user", "content": "recorded"}]


@pytest.mark.parametrize(
    ("options", "recorded"),
    [
        ({"include": ["google-genai"]}, True),
        ({"exclude": ["google-genai"]}, False),
        ({"include": ["openai"]}, False),
    ],
    ids=["included", "excluded", "another-included"],  # tracklm-openai is in the workspace
)
def test_the_integration_is_chosen_by_its_name(
    server: LLMServer, options: dict[str, list[str]], recorded: bool
) -> None:
    tracklm.autolog(**options)  # type: ignore[arg-type]
    server.queue_response(200, answer("ok"))
    with tracklm.start_run() as run:
        client(server).models.generate_content(model=MODEL, contents="hi")

    if recorded:
        assert prediction(run)["integration"] == "google-genai"
    else:
        assert tracklm.flush(timeout=30).ok
        assert tracklm.get_run(run.info.run_id).data.metrics == {}


def test_opting_out_records_nothing_inside_and_everything_beside(server: LLMServer) -> None:
    server.queue_response(200, answer("ok"), times=4)
    models = client(server).models

    @tracklm.no_autolog
    async def quiet() -> None:
        await client(server).aio.models.generate_content(model=MODEL, contents="decorated")

    with tracklm.start_run() as run:
        with tracklm.autolog_disabled():
            models.generate_content(model=MODEL, contents="hidden")
            list(models.generate_content_stream(model=MODEL, contents="hidden stream"))
        asyncio.run(quiet())
        models.generate_content(model=MODEL, contents="seen")

    assert [json_cell(r["inputs"])[0]["content"] for r in predictions(run)] == ["seen"]


def test_autolog_called_before_the_sdk_is_imported_records_its_calls(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        import tracklm

        tracklm.set_tracking_uri(sys.argv[1])
        assert "google-genai" in tracklm.autolog()
        assert "google.genai" not in sys.modules, "autolog() must not import the SDK"

        from google import genai
        from google.genai import types
        from tracklm.testing import LLMServer

        body = {"candidates": [{"content": {"role": "model", "parts": [{"text": "late"}]}}]}
        with LLMServer(echo=False) as server:
            server.queue_response(200, body)
            client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=server.url))
            with tracklm.start_run() as run:
                client.models.generate_content(model="gemini-x", contents="late import")
        assert tracklm.flush(timeout=30).ok
        print(run.info.run_id)
        """
    )
    run_id = run_in_new_interpreter(script, tmp_path / "store2", tmp_path / "j2")

    tracklm.set_tracking_uri(str(tmp_path / "store2"))
    found = tracklm.load_table("predictions.csv", run_ids=[run_id])
    assert list(found["outputs"]) == ["late"]
    assert list(found["model"]) == ["gemini-x"]
