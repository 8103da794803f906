"""A store filled the way an app fills one, and everything a store holds, read back to compare.

The source is written by a real app: the ``openai`` SDK with ``tracklm.autolog()`` against
``tracklm.testing.LLMServer`` (predictions rows, params and metrics per call), plus the
tracking API (nested runs, metric histories with NaN and infinities, tables that gain a column,
artifacts in subfolders, a failed run, a run still running).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pandas as pd

import tracklm
from tracklm import _config
from tracklm.testing import LLMServer

API_KEY = "sk-tracklm-migrate-5e4d3c2b1a-SECRET"
EXPERIMENTS = ("support-bot", "failing", "Default")


@contextlib.contextmanager
def artifact_root(root: str | os.PathLike[str] | None) -> Iterator[None]:
    """Stores opened inside keep their artifacts at ``root`` (as ``--artifact-root`` does)."""
    saved = _config.artifact_root
    _config.artifact_root = None if root is None else os.fspath(root)
    try:
        yield
    finally:
        _config.artifact_root = saved


def client_for(uri: str, root: str | os.PathLike[str] | None = None) -> tracklm.TracklmClient:
    """A client of the store at ``uri`` whose artifacts are at ``root`` (the store's default
    when None). The first client of a URI in the process decides its artifact root."""
    with artifact_root(root):
        return tracklm.TracklmClient(uri)


def populate(uri: str, tmp_path: Path, *, runs: int = 1) -> dict[str, str]:
    """Fill the store at ``uri`` as an app would; returns the ids of its notable runs.

    ``runs`` > 1 repeats the support-bot run (and its nested run) that many times.
    """
    tracklm.set_tracking_uri(uri)
    blob = tmp_path / "weights.bin"
    blob.write_bytes(bytes(range(256)) * 64)
    ids: dict[str, str] = {}
    tracklm.autolog()
    try:
        with LLMServer() as server:
            client = openai.OpenAI(api_key=API_KEY, base_url=server.openai_base_url, max_retries=0)
            tracklm.set_experiment("support-bot")
            for n in range(runs):
                ids.update(_support_run(client, n, blob))
            tracklm.set_experiment("failing")
            with contextlib.suppress(RuntimeError), tracklm.start_run(run_name="crashed") as run:
                ids["failed"] = run.info.run_id
                tracklm.log_metric("progress", 0.5)
                raise RuntimeError("the app failed")
            tracklm.set_experiment("Default")
            with tracklm.start_run(run_name="default-run") as run:
                ids["default"] = run.info.run_id
                _chat(client, "Hello from Default", seed=7)
    finally:
        tracklm.autolog(disable=True)
    open_run = tracklm.TracklmClient(uri).create_run("0", run_name="still-running")
    tracklm.TracklmClient(uri).log_metric(open_run.info.run_id, "heartbeat", 1.0, step=0)
    ids["running"] = open_run.info.run_id
    result = tracklm.flush(timeout=60)
    assert result.ok, result
    return ids


def _support_run(client: openai.OpenAI, n: int, blob: Path) -> dict[str, str]:
    with tracklm.start_run(run_name=f"prompt-v{n}", tags={"team": "search"}) as parent:
        _chat(client, "Where is my order?", temperature=0.2, extra_body={"top_k": 40})
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": 'Tell me a, short, "quoted" story\n'}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for _chunk in stream:
            pass
        client.embeddings.create(model="text-embedding-3-small", input=["refund policy"])
        tracklm.log_params({"prompt": f"v{n}", "retriever": "bm25"})
        for step, value in enumerate([0.5, 0.75, math.nan, math.inf, -math.inf, 0.9]):
            tracklm.log_metric("accuracy", value, step=step)
        tracklm.log_metric("accuracy", 0.95, step=5)  # the same step twice: both are kept
        tracklm.set_tags({"stage": "eval", "note": "=1+1 is not a formula"})
        tracklm.log_table({"question": ["a", "b"], "score": [1, 0.5]}, "evals/scores.json")
        tracklm.log_table(
            {"question": ["c"], "score": [None], "judge": ["gpt-4o"]}, "evals/scores.json"
        )
        tracklm.log_table({"line": [1, 2, 3], "nested": [[1], {"a": 1}, None]}, "log.jsonl")
        tracklm.log_text("# Notes\nläuft gut\n", "notes/deep/readme.md")
        tracklm.log_dict({"system_prompt": "Be brief.", "k": 4}, "config/params.json")
        tracklm.log_artifact(blob, "blobs/v1")
        with tracklm.start_run(run_name=f"retrieval-{n}", nested=True) as child:
            _chat(client, "What is the refund policy?", max_tokens=20)
            tracklm.log_metric("recall", 0.8, step=0)
            tracklm.log_metric("recall", 0.85, step=1)
    return {f"parent{n or ''}": parent.info.run_id, f"child{n or ''}": child.info.run_id}


def _chat(client: openai.OpenAI, text: str, **params: Any) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **params
    )


# -- reading a store back -------------------------------------------------------------------------


def snapshot(
    uri: str, root: str | os.PathLike[str] | None = None, names: tuple[str, ...] = EXPERIMENTS
) -> dict[str, Any]:
    """Every field of every run of the named experiments, keyed by experiment name and run id:
    info, params, latest metrics, tags, each metric's history, each table's rows and every
    artifact file's bytes (tables' files included). Floats as ``repr`` (NaN equals NaN)."""
    client = client_for(uri, root)
    found: dict[str, Any] = {}
    for name in names:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            continue
        runs: dict[str, Any] = {}
        for run in client.search_runs([experiment.experiment_id]):
            info, data, run_id = run.info, run.data, run.info.run_id
            runs[run_id] = {
                "info": (info.run_name, info.status, info.start_time, info.end_time),
                "parent": info.parent_run_id,
                "params": dict(data.params),
                "metrics": {k: repr(v) for k, v in data.metrics.items()},
                "tags": dict(data.tags),
                "history": {
                    key: [
                        (m.step, m.timestamp, repr(m.value))
                        for m in client.get_metric_history(run_id, key)
                    ]
                    for key in data.metrics
                },
                "tables": {
                    table: json.dumps(client._store.read_table(run_id, table))
                    for table in client.list_tables(run_id)
                },
                "files": {
                    path: client.read_artifact(run_id, path)
                    for path in client.list_artifacts(run_id)
                },
            }
        found[name] = runs
    return found


def runs_frame(uri: str, root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """``tracklm.search_runs`` of the experiments, sorted by run id, without the columns that
    name the store (``experiment_id``, ``artifact_uri``)."""
    client_for(uri, root)  # the store is opened with its artifact root
    tracklm.set_tracking_uri(uri)
    frame = tracklm.search_runs(experiment_names=list(EXPERIMENTS))
    frame = frame.drop(columns=["experiment_id", "artifact_uri"])
    return frame.sort_values("run_id").reset_index(drop=True)


def tables(uri: str, run_ids: list[str], root: str | os.PathLike[str] | None = None) -> list[Any]:
    """``load_table`` of every table of the runs, as DataFrames."""
    client = client_for(uri, root)
    return [
        client.load_table(None, table, run_ids=[run_id])
        for run_id in sorted(run_ids)
        for table in client.list_tables(run_id)
    ]
