"""Stores for the web app's tests: a realistic one made by autologged calls, and a big one.

The realistic store is what an app with ``tracklm.autolog()`` leaves: the real ``openai`` SDK
against :class:`tracklm.testing.LLMServer` (echo mode), three runs answering the same questions
with other models and temperatures, streams, a tool call, an embedding, a failed call, and a
prompt that tries to run a script. The big store holds one run of 200,000 predictions rows and
a metric of 100,000 values, written through the store's own write path in large batches.
"""

from __future__ import annotations

import contextlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import tracklm
from tracklm._run_manager.records import (
    AppendRows,
    Batch,
    CreateExperiment,
    CreateRun,
    LogMetric,
    LogParam,
    SetRunStatus,
)
from tracklm.stores import open_store
from tracklm.testing import LLMServer, isolated_tracklm

QUESTIONS: Final = (
    "Where is my order #4417?",
    "How do I reset my password?",
    "Can I change the delivery address after checkout?",
    "What is your refund policy for opened items?",
    "My package arrived damaged, what should I do?",
    "Do you ship to Canada?",
    "How long does express shipping take?",
    "Can I pay with PayPal?",
    "How do I cancel my subscription?",
    "Is there a student discount?",
    "Why was my card declined?",
    "Can I return a gift without a receipt?",
)
SCRIPT_PROMPT: Final = '<script>alert("prompt")</script><img src=x onerror=alert("img")>'
"""A prompt that would run scripts if it were put into a page as markup."""
SYSTEM: Final = "You are a concise, friendly support agent for an online shop."
WEATHER_TOOL: Final = {
    "type": "function",
    "function": {
        "name": "get_order_status",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    },
}


@dataclass(frozen=True)
class RealisticStore:
    """The realistic store's folder and what is in it."""

    path: Path
    experiment_id: str
    run_ids: dict[str, str]
    """Run name -> run id."""


def realistic_store(folder: Path) -> RealisticStore:
    """Three autologged runs of a support bot (see the module's docstring)."""
    import openai

    runs: dict[str, str] = {}
    with isolated_tracklm(folder, strict=True) as path, LLMServer() as server:
        tracklm.set_experiment("support-bot")
        tracklm.autolog()
        client = openai.OpenAI(api_key="test-key", base_url=server.openai_base_url)
        setups = [
            ("prompt-v1", "gpt-4o-mini", 0.2, "v1"),
            ("prompt-v2", "gpt-4o-mini", 0.7, "v2"),
            ("prompt-v3", "gpt-4o", 0.2, "v2"),
        ]
        for name, model, temperature, prompt in setups:
            with tracklm.start_run(run_name=name, tags={"team": "support"}) as run:
                tracklm.log_param("prompt_version", prompt)
                _calls(client, server, model, temperature, with_script=name == "prompt-v2")
                tracklm.log_dict({"system_prompt": SYSTEM, "version": prompt}, "prompt.json")
                tracklm.log_text(f"# {name}\n\nAnswers {len(QUESTIONS)} questions.\n", "notes.md")
                noise = random.Random(name)
                ceiling = {"prompt-v1": 0.25, "prompt-v2": 0.3, "prompt-v3": 0.35}[name]
                for step in range(300):
                    score = 0.55 + ceiling * (1 - 1 / (1 + step / 40)) + noise.random() / 25
                    tracklm.log_metric("eval_score", score, step=step)
            runs[name] = run.info.run_id
        tracklm.autolog(disable=True)
        tracklm.flush()
        experiment = tracklm.TracklmClient().get_experiment_by_name("support-bot")
        assert experiment is not None
        return RealisticStore(path, experiment.experiment_id, runs)


def _calls(
    client: Any, server: LLMServer, model: str, temperature: float, *, with_script: bool
) -> None:
    import openai

    for question in QUESTIONS:
        client.chat.completions.create(
            model=model,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            temperature=temperature,
        )
    for _chunk in client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Write a two-line apology."}],
        stream=True,
    ):
        pass
    client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": 'call get_order_status {"order_id": "4417"}'}],
        tools=[WEATHER_TOOL],
    )
    client.embeddings.create(model="text-embedding-3-small", input=["refund policy"])
    if with_script:
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": SCRIPT_PROMPT}]
        )
    server.queue_response(
        429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}
    )
    with contextlib.suppress(openai.RateLimitError):
        client.with_options(max_retries=0).chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hello?"}]
        )


BIG_RUN: Final = "big-run"
BIG_ROWS: Final = 200_000
BIG_METRIC_POINTS: Final = 100_000
MODELS: Final = ("gpt-4o-mini", "gpt-4o", "o3-mini")


def big_row(i: int) -> dict[str, Any]:
    """Row ``i`` of the big run: every 997th an error, every 7th an embedding."""
    return {
        "call_id": f"{i:032x}",
        "step": i + 1,
        "timestamp": f"2026-01-01T00:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}+00:00",
        "operation": "embedding" if i % 7 == 0 else "chat",
        "model": MODELS[i % 3],
        "inputs": json.dumps([{"role": "user", "content": f"Question {i}: where is order {i}?"}]),
        "outputs": f"Order {i} ships today.",
        "latency_ms": 100 + (i * 7919) % 900,
        "total_tokens": 20 + i % 50,
        "status": "error" if i % 997 == 0 else "ok",
        "error": "RateLimitError: slow down" if i % 997 == 0 else None,
    }


def big_store(path: Path, rows: int = BIG_ROWS, points: int = BIG_METRIC_POINTS) -> str:
    """A store at ``path`` whose run ``big-run`` has ``rows`` predictions rows and a metric
    ``latency_ms`` of ``points`` values; returns the experiment's id."""
    store = open_store(str(path))
    try:
        store.write_batch(
            Batch(
                [
                    CreateExperiment("7", "load-test", 1_767_225_600_000),
                    CreateRun(BIG_RUN, "7", "load-test", "big-run", 1_767_225_600_000, {}, None),
                    LogParam(BIG_RUN, "model", "gpt-4o-mini"),
                ]
            )
        )
        for start in range(0, rows, 50_000):
            chunk = [big_row(i) for i in range(start, min(rows, start + 50_000))]
            store.write_batch(Batch([AppendRows(BIG_RUN, "predictions.csv", chunk)]))
        rng = random.Random(7)
        values = [100 + rng.random() * 50 for _ in range(points)]
        values[points // 2] = 5_000.0  # one spike the chart must keep
        store.write_batch(
            Batch(
                [
                    LogMetric(BIG_RUN, "latency_ms", v, i, 1_767_225_600_000 + i * 10)
                    for i, v in enumerate(values)
                ]
                + [SetRunStatus(BIG_RUN, "FINISHED", 1_767_225_600_000 + points * 10)]
            )
        )
    finally:
        store.close()
    return "7"
