"""No credential is stored, no artifact path leaves its run's folder, the store's files are
its owner's alone, and logged text (untrusted: it comes from an LLM) is kept as it was."""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
from pathlib import Path
from typing import Any

import openai
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracklm
from tracklm.testing import LLMServer

from .._pandas import READS_NUL
from ..run_manager._subprocess import WriteLockHolder, env_for, run
from ._app import API_KEY, BEARER, CREDENTIAL_HEADERS, SECRETS, client, rows, user

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _answer(text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [choice]}


def _files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.is_file()]


def test_no_credential_is_in_any_file_of_the_store_or_the_journal(
    server: LLMServer, store_dir: Path, tmp_path: Path
) -> None:
    """Every kind of call, with the key, bearer tokens and key headers set every way the SDK
    takes them, some while the store is locked (so that they go through the journal)."""
    sync = client(server, default_headers=CREDENTIAL_HEADERS, organization="org-faults")
    azure = openai.AzureOpenAI(
        api_key=API_KEY, api_version="2024-06-01", azure_endpoint=server.url, max_retries=0
    )

    def every_call() -> None:
        chat = sync.chat.completions
        chat.create(model="m", messages=user("plain"), extra_headers=CREDENTIAL_HEADERS)
        list(chat.create(model="m", messages=user("stream"), stream=True))
        chat.with_raw_response.create(model="m", messages=user("raw")).parse()
        with chat.with_streaming_response.create(model="m", messages=user("lazy")) as lazy:
            lazy.read()
        sync.completions.create(model="i", prompt="legacy")
        sync.embeddings.create(model="e", input="vector")
        sync.responses.create(model="r", input="responses")
        azure.chat.completions.create(model="deployment", messages=user("azure"))
        # a server that echoes the credentials, in an error and in an answer
        echoed = f"Incorrect API key provided: {API_KEY} (token {BEARER})"
        server.queue_response(401, {"error": {"message": echoed}})
        with contextlib.suppress(openai.AuthenticationError):
            chat.create(model="m", messages=user("refused"))
        server.queue_response(200, _answer(f"your key is {API_KEY}"))
        chat.create(model="m", messages=user("echo it"))

        async def aio() -> None:
            async with openai.AsyncOpenAI(
                api_key=API_KEY, base_url=server.openai_base_url, default_headers=CREDENTIAL_HEADERS
            ) as async_client:
                await async_client.chat.completions.create(model="m", messages=user("async"))

        asyncio.run(aio())

    every_call()
    assert tracklm.flush().ok
    holder = WriteLockHolder(store_dir / "tracklm.db")
    try:
        every_call()
        assert tracklm.flush(timeout=2).pending > 0  # in the journal now
    finally:
        holder.release()
    stored = rows()
    assert len(stored) == 2 * 11
    assert any(r["outputs"] == "your key is [REDACTED]" for r in stored)
    sent = server.requests
    assert sent[0].header("authorization") == CREDENTIAL_HEADERS["Authorization"]
    assert any(r.header("api-key") == API_KEY for r in sent)

    files = _files(store_dir, tmp_path / "journal")
    assert any(f.name == "tracklm.db" for f in files)
    assert any(f.suffix == ".csv" for f in files)
    leaked = [(f, s) for f in files for s in SECRETS if s.encode() in f.read_bytes()]
    assert leaked == []


OWNER_ONLY = """
import json, os, sys
os.umask(int(sys.argv[1], 8))
import openai, tracklm
from tracklm.testing import LLMServer

made, source = sys.argv[2], sys.argv[3]
tracklm.autolog()
with LLMServer() as server, tracklm.start_run() as run:
    openai.OpenAI(api_key="k", base_url=server.openai_base_url).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}])
    tracklm.log_table({"a": [1]}, "deep/er/t.csv")
    tracklm.log_text("text", "notes/n.txt")
    tracklm.log_dict({"a": 1}, "d.json")
    with open(source, "w") as handle:
        handle.write("x")
    tracklm.log_artifact(source, "copied/here")
    assert tracklm.flush().ok
    # a journal too, as for records the store refuses
    from tracklm._run_manager import manager_for
    from tracklm._run_manager.records import Batch, LogMetric
    manager_for(tracklm.get_tracking_uri())._journal.append(Batch([LogMetric("r", "m", 1, 0, 0)]))
    # (SQLite removes -wal and -shm with its last connection, the journal empties at exit)
    paths = [os.path.join(folder, name) for folder, folders, files in os.walk(made)
             for name in folders + files]
    print(json.dumps({os.path.relpath(p, made): os.lstat(p).st_mode & 0o777 for p in paths}))
"""


@pytest.mark.parametrize("umask", ["022", "000"])
def test_every_file_and_folder_tracklm_makes_is_its_owners_alone(
    tmp_path: Path, umask: str
) -> None:
    """Even under ``umask 000``, and for the folders above the store it has to make."""
    made = tmp_path / "made"  # everything below it is tracklm's
    store, journal = made / "by" / "tracklm" / "store", made / "cache" / "journal"
    code = (
        OWNER_ONLY.replace("sys.argv[1]", repr(umask))
        .replace("sys.argv[2]", repr(str(made)))
        .replace("sys.argv[3]", repr(str(tmp_path / "source.txt")))
    )
    modes: dict[str, int] = json.loads(run(code, env_for(store, journal)).stdout)

    names = {Path(p).name for p in modes}
    expected = {"tracklm.db", "tracklm.db-wal", "tracklm.db-shm", "t.csv", "n.txt", "d.json"}
    assert expected | {"source.txt", "owner.lock", "1.jsonl", "by", "cache"} <= names
    open_to_others = {p: oct(m) for p, m in modes.items() if m & 0o077}
    assert open_to_others == {}
    after_exit = {str(p): oct(stat.S_IMODE(p.lstat().st_mode)) for p in made.rglob("*")}
    assert [p for p, m in after_exit.items() if int(m, 8) & 0o077] == []


# -- artifact paths ------------------------------------------------------------------------


PATH_PIECES = st.sampled_from(
    [
        "a",
        "b.csv",
        ".",
        "..",
        "...",
        "/",
        "//",
        "\\",
        "C:",
        "c:/",
        "~",
        "%2e%2e",
        " ",
        "\x00",
        "\u2025",
        "con",
        "nul.txt",
        "\\\\?\\",
        "x" * 120,
    ]
)


@SETTINGS
@given(path=st.lists(PATH_PIECES, min_size=1, max_size=6).map("".join))
def test_any_artifact_path_is_refused_or_written_inside_the_run_folder(path: str) -> None:
    with tracklm.start_run() as run:
        folder = tracklm.TracklmClient().artifact_dir(run.info.run_id)
        root = folder.parents[2]  # the store's artifact root, above every run's folder
        before = set(root.rglob("*"))
        try:
            tracklm.log_text("payload", path)
        except tracklm.InvalidArtifactPath:
            pass
        else:
            (only,) = [p for p in folder.rglob("*") if p.is_file()]
            assert only.read_text() == "payload"
            assert folder.resolve() in only.resolve().parents
    made = set(root.rglob("*")) - before
    inside = [p for p in made if p == folder or folder in p.parents or p in folder.parents]
    assert sorted(made) == sorted(inside)  # nothing made outside the run's folder


def test_a_link_planted_after_a_table_was_checked_is_not_written_through(
    tmp_path: Path,
) -> None:
    """The path of a table is checked when it is first logged; a link put in its place later
    (a file, or a folder on the way) must not carry its rows out of the run's folder."""
    outside = tmp_path / "outside"
    outside.mkdir()
    with tracklm.start_run() as run:
        tracklm.log_table({"n": [1]}, "t.csv")
        tracklm.log_table({"n": [1]}, "sub/u.csv")
        assert tracklm.flush().ok
        folder = tracklm.TracklmClient().artifact_dir(run.info.run_id)
        victim = outside / "victim.csv"
        victim.write_bytes((folder / "t.csv").read_bytes())  # same size: an append would go in
        (folder / "t.csv").unlink()
        (folder / "t.csv").symlink_to(victim)
        (outside / "sub").mkdir()
        (folder / "sub" / "u.csv").unlink()
        (folder / "sub").rmdir()
        (folder / "sub").symlink_to(outside / "sub", target_is_directory=True)
        tracklm.log_table({"n": [2]}, "t.csv")
        tracklm.log_table({"n": [2]}, "sub/u.csv")
        result = tracklm.flush(timeout=10)
    assert result.pending == 0
    assert result.dropped == 2
    assert victim.read_text() == "n\n1\n"
    assert list((outside / "sub").iterdir()) == []
    assert tracklm.get_run(run.info.run_id).info.status == "FINISHED"


# -- logged text is kept as it was ---------------------------------------------------------

LLM_TEXT = st.text(
    st.characters(exclude_categories=["Cs"]) | st.sampled_from("-=+@\"',;\t\r\n \x00#"),
    max_size=60,
)


@SETTINGS
@given(cells=st.lists(LLM_TEXT, min_size=1, max_size=5))
def test_any_text_reads_back_exactly_from_the_csv_file_and_load_table(cells: list[str]) -> None:
    """What ``pandas.read_csv(path, dtype=str, keep_default_na=False)`` and ``load_table``
    return is what was logged: formulas, quotes, line breaks, tabs, NUL (pandas 3), any
    script."""
    with tracklm.start_run() as run:
        tracklm.log_table({"text": cells, "n": list(range(len(cells)))}, "t.csv")
    path = tracklm.TracklmClient().artifact_dir(run.info.run_id) / "t.csv"
    tracklm.flush()
    read = pd.read_csv(path, dtype=str, keep_default_na=False)["text"].tolist()
    assert read == (cells if READS_NUL else [c.split("\x00", 1)[0] for c in cells])
    assert tracklm.load_table("t.csv", run_ids=[run.info.run_id])["text"].tolist() == cells


LLM_OUTPUTS = [
    "-2 is the answer",
    '=HYPERLINK("http://evil.example","click")',
    "+1 555 0100",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    'He said "yes", then left',
    "line one\nline two\r\nline three\rend",
    "a\tb,c;d",
    "émoji 🙂 中文 עברית",
    "",
    "   ",
]


@pytest.mark.parametrize("text", LLM_OUTPUTS)
def test_llm_output_in_the_predictions_csv_reads_back_exactly(server: LLMServer, text: str) -> None:
    server.queue_response(200, _answer(text))
    with tracklm.start_run() as run:
        client(server).chat.completions.create(model="m", messages=user(text))
    (row,) = rows([run.info.run_id])
    assert row["outputs"] == text
    path = tracklm.TracklmClient().artifact_dir(run.info.run_id) / "predictions.csv"
    on_disk = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert on_disk["outputs"].tolist() == [text]
