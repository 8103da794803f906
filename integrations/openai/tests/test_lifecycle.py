"""Turning autolog on and off: what is patched, when, and what is put back."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import wrapt
from openai._base_client import AsyncAPIClient, SyncAPIClient
from openai.lib.streaming.chat._completions import ChatCompletionStream
from openai_support import client, user

import tracklm
from tracklm.testing import LLMServer, prediction

PATCHED = [(SyncAPIClient, "request"), (AsyncAPIClient, "request"), (ChatCompletionStream, "close")]


def test_disable_puts_back_the_sdks_own_function_objects(server: LLMServer) -> None:
    tracklm.autolog(disable=True)
    originals = {(cls, name): cls.__dict__[name] for cls, name in PATCHED}
    assert not any(isinstance(f, wrapt.ObjectProxy) for f in originals.values())

    tracklm.autolog()
    tracklm.autolog()  # again: replaces the options, never wraps twice
    for (cls, name), original in originals.items():
        wrapper = cls.__dict__[name]
        assert isinstance(wrapper, wrapt.FunctionWrapper)
        assert wrapper.__wrapped__ is original

    tracklm.autolog(disable=True)
    for (cls, name), original in originals.items():
        assert cls.__dict__[name] is original
    with tracklm.start_run() as run:
        client(server).chat.completions.create(model="m", messages=user("not recorded"))
    assert tracklm.flush(timeout=30).ok
    assert tracklm.get_run(run.info.run_id).data.metrics == {}

    tracklm.autolog()
    with tracklm.start_run() as run:
        client(server).chat.completions.create(model="m", messages=user("recorded"))
    assert prediction(run)["outputs"] == "echo: recorded"


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
    env = {**os.environ, "TRACKLM_STRICT": "1", "TRACKLM_JOURNAL_DIR": str(tmp_path / "j2")}
    env.pop("TRACKLM_AUTOLOG_DISABLED", None)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "store")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]

    found = tracklm.load_table("predictions.csv", run_ids=[run_id])
    assert list(found["outputs"]) == ["echo: late import"]
    assert list(found["model"]) == ["m"]
