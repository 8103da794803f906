"""Turning autolog on and off: what is patched, when, and what is put back."""

from __future__ import annotations

import textwrap
from pathlib import Path

from openai._base_client import AsyncAPIClient, SyncAPIClient
from openai.lib.streaming.chat._completions import ChatCompletionStream
from openai_support import client, user

import tracklm
from tracklm.testing import LLMServer
from tracklm.testing.integration_checks import (
    assert_disable_restores_originals,
    run_in_new_interpreter,
)

PATCHED = [(SyncAPIClient, "request"), (AsyncAPIClient, "request"), (ChatCompletionStream, "close")]


def test_disable_puts_back_the_sdks_own_function_objects(server: LLMServer) -> None:
    def call(text: str) -> None:
        client(server).chat.completions.create(model="m", messages=user(text))

    assert assert_disable_restores_originals(PATCHED, call)["outputs"] == "echo: recorded"


def test_autolog_called_before_openai_is_imported_records_its_calls(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        import tracklm

        tracklm.set_tracking_uri(sys.argv[1])
        assert "openai" in tracklm.autolog()  # beside the other installed integrations
        assert "openai" not in sys.modules, "autolog() must not import the SDK"

        import openai
        from tracklm.testing import LLMServer

        with LLMServer() as server:
            client = openai.OpenAI(api_key="k", base_url=server.openai_base_url)
            with tracklm.start_run() as run:
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "late import"}]
                )
        assert tracklm.flush(timeout=30).ok
        print(run.info.run_id)
        """
    )
    run_id = run_in_new_interpreter(script, tmp_path / "store", tmp_path / "j2")

    found = tracklm.load_table("predictions.csv", run_ids=[run_id])
    assert list(found["outputs"]) == ["echo: late import"]
    assert list(found["model"]) == ["m"]
