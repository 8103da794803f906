"""What the fault tests share: the app's client and credentials, outcomes of calls made with
and without tracklm, and checks that a store is whole."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pandas as pd

import tracklm
from tracklm.testing import LLMServer

API_KEY = "sk-tracklm-faults-9f8e7d6c5b4a3210-SECRET"
"""The app's API key: distinctive, so that the end-of-session scan can look for it."""
BEARER = "tok-tracklm-faults-AUTHZ-0451-SECRET"
HEADER_KEY = "hk-tracklm-faults-XAPIKEY-7781-SECRET"
PROXY_AUTH = "px-tracklm-faults-PROXY-2231-SECRET"
SECRETS = (
    API_KEY,
    BEARER,
    HEADER_KEY,
    PROXY_AUTH,
    "sk-tracklm-test-0123456789abcdef",  # the integration tests' key (openai_support.API_KEY)
)
CREDENTIAL_HEADERS = {
    "Authorization": f"Bearer {BEARER}",
    "X-Api-Key": HEADER_KEY,
    "Proxy-Authorization": f"Basic {PROXY_AUTH}",
}

measurements: list[str] = []
"""Lines printed at the end of the run (see conftest.pytest_terminal_summary)."""


def client(server: LLMServer, **kwargs: Any) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(api_key=API_KEY, base_url=server.openai_base_url, **kwargs)


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


# -- the same calls with and without tracklm ---------------------------------------------------


@dataclass
class Outcome:
    """What the app saw of a call: its value or its error, the requests it made, its time."""

    value: Any
    error: tuple[Any, ...] | None
    requests: int
    seconds: float


def outcome(server: LLMServer, call: Callable[[LLMServer], Any], timeout: float = 60) -> Outcome:
    """Run ``call(server)``, in a thread so that a hang fails the test instead of the run."""
    box: dict[str, Any] = {}

    def target() -> None:
        started = time.perf_counter()
        try:
            box["value"] = plain(call(server))
        except Exception as exc:
            box["error"] = describe(exc)
        box["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"the call hung for {timeout} s"
    return Outcome(box.get("value"), box.get("error"), len(server.requests), box["seconds"])


def with_and_without_tracklm(
    call: Callable[[LLMServer], Any], fault: Callable[[LLMServer], None] = lambda s: None
) -> tuple[Outcome, Outcome]:
    """(without, with): ``call`` against a fresh server given ``fault``, autolog off then on.

    Each run has its own server, so the ids the echo server counts are the same in both.
    """
    outcomes = []
    for enabled in (False, True):
        if enabled:
            tracklm.autolog()
        else:
            tracklm.autolog(disable=True)
        with LLMServer() as server:
            fault(server)
            outcomes.append(outcome(server, call))
    without, with_ = outcomes
    return without, with_


def plain(value: Any) -> Any:
    """A comparable form of what a call returned (pydantic models, streams, bytes...)."""
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def describe(exc: BaseException) -> tuple[Any, ...]:
    """An exception as the app sees it: its type, message, status, body and cause's type."""
    cause = exc.__cause__ or exc.__context__
    return (
        type(exc),
        str(exc),
        getattr(exc, "status_code", None),
        getattr(exc, "body", None),
        type(cause) if cause is not None else None,
    )


# -- what is stored ------------------------------------------------------------------------------


def rows(run_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Every predictions row of the current experiment (or of ``run_ids``), in step order."""
    result = tracklm.flush(timeout=60)
    assert result.ok, result
    frame = tracklm.load_table("predictions.csv", run_ids=run_ids)
    records: list[dict[str, Any]] = (
        frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    )
    return sorted(records, key=lambda r: (r.get("timestamp") or "", int(r["step"])))


def assert_store_whole(store_dir: Path, files: bool = True) -> None:
    """The database passes SQLite's integrity check, every run and table loads, and (with
    ``files``) every table file parses."""
    db = store_dir / "tracklm.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    client = tracklm.TracklmClient(str(store_dir))
    for experiment in client.list_experiments():
        for run in client.search_runs([experiment.experiment_id]):
            for table in client.list_tables(run.info.run_id):
                client.load_table(None, table, run_ids=[run.info.run_id])
    for path in (store_dir / "artifacts").rglob("*") if files else []:
        if path.name.endswith(".csv"):
            pd.read_csv(path, dtype=str, keep_default_na=False)
        elif path.name.endswith(".jsonl"):
            for line in path.read_text().splitlines():
                json.loads(line)
        elif path.name.endswith(".json"):
            json.loads(path.read_text())
