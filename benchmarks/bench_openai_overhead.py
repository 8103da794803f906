"""Benchmark: what autologging adds to an OpenAI SDK call, next to the bare SDK and to peers.

Variants, all in one run and on the same calls:

* ``bare``: the ``openai`` SDK, nothing else;
* ``tracklm``: ``tracklm.autolog()``, no OpenTelemetry SDK configured;
* ``tracklm+otel``: ``tracklm.autolog()`` with the OpenTelemetry SDK (tracer provider with a
  ``BatchSpanProcessor`` to an ``InMemorySpanExporter``, meter provider with an
  ``InMemoryMetricReader``);
* ``otel-openai-v2``: ``opentelemetry-instrumentation-openai-v2`` with the same SDK set-up;
* ``mlflow``: ``mlflow.openai.autolog()`` (traces to a SQLite tracking store, MLflow's default
  asynchronous trace logging).

Two measurements, each variant in a child process of its own, the variants alternating in
rounds (the order rotates each round) and the samples of all rounds pooled:

* ``fake``: the client gets ``http_client=httpx2.Client(transport=httpx2.MockTransport(...))``
  that returns canned responses (recorded once from ``LLMServer``'s echo mode), so a call
  costs only the SDK's and the instrumentation's own work: added = variant - bare, on medians
  and on p99s. This is the figure the targets are checked against.
* ``server``: real HTTP to one ``LLMServer`` (echo mode) run by the parent process for every
  child; the round trip dominates and is noisy, so these figures are for context.

Per call it times chat (``chat.completions.create``), embeddings (``embeddings.create``) and a
stream (``stream=True``, ~64 chunks): time to first chunk (from the call to the first chunk in
the caller's hands) and time per chunk after the first ((last - first) / (chunks - 1), which
includes finishing the record once at the end). Run::

    uv run --with mlflow --with opentelemetry-instrumentation-openai-v2 --with httpx \\
        --with 'opentelemetry-util-genai<1' python benchmarks/bench_openai_overhead.py
    uv run python benchmarks/bench_openai_overhead.py --quick      # tracklm only, smoke run
    uv run python benchmarks/bench_openai_overhead.py --profile    # cProfile of the caller path

A peer that is not installed (or fails) is reported as such; the other variants still run.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import emit_result, fmt, machine_info, markdown_table, percentile, run_child

VARIANTS = ["bare", "tracklm", "tracklm+otel", "otel-openai-v2", "mlflow"]
PEERS = {"otel-openai-v2": "opentelemetry.instrumentation.openai_v2", "mlflow": "mlflow"}
DISTRIBUTIONS = [
    "tracklm",
    "tracklm-openai",
    "openai",
    "httpx2",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-instrumentation-openai-v2",
    "opentelemetry-util-genai",
    "mlflow",
]

# Targets from the issue (2-core machine), in µs added to a call.
TARGETS = {
    ("tracklm", "chat"): 25.0,
    ("tracklm", "embeddings"): 25.0,
    ("tracklm+otel", "chat"): 100.0,
    ("tracklm+otel", "embeddings"): 100.0,
    ("tracklm", "ttfc"): 5.0,
    ("tracklm+otel", "ttfc"): 5.0,
    ("tracklm", "chunk"): 2.0,
    ("tracklm+otel", "chunk"): 2.0,
}

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "rounds": 5,
        "fake": {"warmup": 300, "calls": 1500, "streams": 300, "stream_warmup": 30, "pause": 0.002},
        "server": {"warmup": 100, "calls": 500, "streams": 120, "stream_warmup": 10},
    },
    "quick": {
        "rounds": 2,
        "fake": {"warmup": 100, "calls": 300, "streams": 60, "stream_warmup": 10, "pause": 0.002},
        "server": {"warmup": 30, "calls": 100, "streams": 30, "stream_warmup": 5},
    },
}

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant. Answer in one sentence."},
    {"role": "user", "content": "What is the capital of France? Please answer briefly."},
]
STREAM_WORDS = 62  # echo answers "echo: " + the words: 64 content chunks, plus role/finish
STREAM_MESSAGES = [{"role": "user", "content": " ".join(f"w{i}" for i in range(STREAM_WORDS))}]
EMBED_INPUT = "The quick brown fox jumps over the lazy dog."
CHAT_MODEL = "gpt-4o-mini"
EMBED_MODEL = "text-embedding-3-small"

# -- child side --------------------------------------------------------------------------------


def _otel_sdk() -> Any:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    return provider, exporter


def setup(variant: str, folder: Path, template: Path) -> Callable[[], dict[str, Any]]:
    """Install the variant; returns a function that says what it recorded, after the run."""
    if variant == "bare":
        return dict
    if variant in ("tracklm", "tracklm+otel"):
        sdk = _otel_sdk() if variant == "tracklm+otel" else None
        import tracklm

        tracklm.set_tracking_uri(str(folder / "store"))
        tracklm.autolog()

        def tracklm_report() -> dict[str, Any]:
            flushed = tracklm.flush(timeout=120)
            report: dict[str, Any] = {"written": flushed.written, "dropped": flushed.dropped}
            if sdk is not None:
                sdk[0].force_flush()
                report["spans"] = len(sdk[1].get_finished_spans())
            return report

        return tracklm_report
    if variant == "otel-openai-v2":
        sdk = _otel_sdk()
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()

        def v2_report() -> dict[str, Any]:
            sdk[0].force_flush()
            return {"spans": len(sdk[1].get_finished_spans())}

        return v2_report
    if variant == "mlflow":
        import mlflow

        db = folder / "mlflow.db"
        if template.exists():
            shutil.copy(template, db)
        mlflow.set_tracking_uri(f"sqlite:///{db}")
        mlflow.set_experiment("bench")  # creates the schema (seconds), before anything is timed
        if not template.exists():
            shutil.copy(db, template)
        mlflow.openai.autolog()

        def mlflow_report() -> dict[str, Any]:
            flush = getattr(mlflow, "flush_trace_async_logging", None)
            if flush is not None:
                flush()
            import sqlite3

            with sqlite3.connect(db) as conn:
                (traces,) = conn.execute("SELECT COUNT(*) FROM trace_info").fetchone()
            return {"traces": traces}

        return mlflow_report
    raise ValueError(f"unknown variant {variant}")


def _fake_client(canned: dict[str, Any]) -> Any:
    import httpx2
    import openai

    chat = base64.b64decode(canned["chat"])
    embeddings = base64.b64decode(canned["embeddings"])
    events = [base64.b64decode(e) for e in canned["stream"]]
    json_headers = {"content-type": "application/json"}
    sse_headers = {"content-type": "text/event-stream; charset=utf-8"}

    def handler(request: Any) -> Any:
        path = request.url.path
        if path.endswith("/embeddings"):
            return httpx2.Response(200, headers=json_headers, content=embeddings)
        if b'"stream":true' in request.content.replace(b" ", b""):
            return httpx2.Response(200, headers=sse_headers, content=iter(events))
        return httpx2.Response(200, headers=json_headers, content=chat)

    http_client = httpx2.Client(transport=httpx2.MockTransport(handler))
    return openai.OpenAI(
        api_key="bench", base_url="http://fake.invalid/v1", http_client=http_client
    )


def measure(client: Any, sizes: dict[str, Any]) -> dict[str, Any]:
    """Per call: wall time (``perf_counter_ns``) and the caller thread's CPU time
    (``thread_time_ns``: its own work, without waits for the GIL or the CPU)."""
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    pause = sizes.get("pause", 0.0)
    found: dict[str, list[int]] = {
        k: [] for k in ("chat", "embeddings", "ttfc", "chunk", "chat_cpu", "embeddings_cpu",
                        "ttfc_cpu", "chunk_cpu", "chunks")
    }  # fmt: skip
    create = client.chat.completions.create
    embed_create = client.embeddings.create

    def chat() -> tuple[int, int]:
        c0, t0 = cpu(), clock()
        create(model=CHAT_MODEL, messages=MESSAGES)
        t1, c1 = clock(), cpu()
        return t1 - t0, c1 - c0

    def embed() -> tuple[int, int]:
        c0, t0 = cpu(), clock()
        embed_create(model=EMBED_MODEL, input=EMBED_INPUT)
        t1, c1 = clock(), cpu()
        return t1 - t0, c1 - c0

    def stream() -> tuple[int, int, int, int, int]:
        c0, t0 = cpu(), clock()
        response = create(
            model=CHAT_MODEL,
            messages=STREAM_MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        iterator = iter(response)
        next(iterator)
        t1, c1 = clock(), cpu()
        n = 1
        for _ in iterator:
            n += 1
        t2, c2 = clock(), cpu()
        per = max(1, n - 1)
        return t1 - t0, c1 - c0, (t2 - t1) // per, (c2 - c1) // per, n

    def rest() -> None:
        if pause:
            time.sleep(pause)

    for i in range(sizes["warmup"]):
        chat()
        embed()
        if i < sizes["stream_warmup"]:
            stream()
        rest()
    every = max(1, sizes["calls"] // sizes["streams"])
    for i in range(sizes["calls"]):
        wall, used = chat()
        found["chat"].append(wall)
        found["chat_cpu"].append(used)
        rest()
        wall, used = embed()
        found["embeddings"].append(wall)
        found["embeddings_cpu"].append(used)
        rest()
        if i % every == 0:
            first, first_cpu, chunk, chunk_cpu, n = stream()
            found["ttfc"].append(first)
            found["ttfc_cpu"].append(first_cpu)
            found["chunk"].append(chunk)
            found["chunk_cpu"].append(chunk_cpu)
            found["chunks"].append(n)
            rest()
    return found


def child_main(spec: dict[str, Any]) -> None:
    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"variant": spec["variant"], "mode": spec["mode"]}
    try:
        report = setup(spec["variant"], folder, Path(spec["template"]))
        if spec["mode"] == "fake":
            canned = json.loads(Path(spec["canned"]).read_text())
            client = _fake_client(canned)
        else:
            import openai

            client = openai.OpenAI(api_key="bench", base_url=spec["url"], max_retries=0)
        result["samples"] = measure(client, spec["sizes"])
        result["recorded"] = report()
        client.close()
    except Exception as exc:
        import traceback

        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    emit_result(result)


# -- profile -----------------------------------------------------------------------------------


def profile_main(calls: int, with_sdk: bool) -> None:
    """cProfile the caller's thread of tracklm-autologged chat calls (fake transport)."""
    import cProfile
    import pstats

    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-profile-"))
    try:
        canned = _canned(root)
        setup("tracklm+otel" if with_sdk else "tracklm", root, root / "none")
        client = _fake_client(json.loads(canned.read_text()))
        for _ in range(300):
            client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
        import tracklm

        tracklm.flush()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
        profiler.disable()
        stats = pstats.Stats(profiler)
        print(f"# {calls} chat calls, caller's thread, {'with' if with_sdk else 'no'} OTel SDK")
        print("## tracklm's functions (own time, sorted)")
        stats.sort_stats("tottime")
        stats.print_stats(r"tracklm|opentelemetry|wrapt", 25)
        print("## everything, cumulative")
        stats.sort_stats("cumulative")
        stats.print_stats(25)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- parent side -------------------------------------------------------------------------------


def _canned(root: Path) -> Path:
    """Record the echo server's answers once: the fake transport replays them."""
    import httpx2

    from tracklm.testing import LLMServer

    with LLMServer(echo=True) as server, httpx2.Client(base_url=server.openai_base_url) as http:
        chat = http.post("/chat/completions", json={"model": CHAT_MODEL, "messages": MESSAGES})
        embed = http.post("/embeddings", json={"model": EMBED_MODEL, "input": EMBED_INPUT})
        stream = http.post(
            "/chat/completions",
            json={
                "model": CHAT_MODEL,
                "messages": STREAM_MESSAGES,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
    events = [e + b"\n\n" for e in stream.content.split(b"\n\n") if e.strip()]
    path = root / "canned.json"
    path.write_text(
        json.dumps(
            {
                "chat": base64.b64encode(chat.content).decode(),
                "embeddings": base64.b64encode(embed.content).decode(),
                "stream": [base64.b64encode(e).decode() for e in events],
            }
        )
    )
    return path


def _child_env(root: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRACKLM_", "MLFLOW_", "OTEL_", "OPENAI_"))
    }
    env.update(
        TRACKLM_JOURNAL_DIR=str(root / "journal"),
        TRACKLM_EXIT_TIMEOUT="120",
        MLFLOW_DISABLE_TELEMETRY="true",  # no network from a benchmark
        DO_NOT_TRACK="true",
        PYTHONUNBUFFERED="1",
    )
    return env


def _rounds(variants: list[str], rounds: int) -> Iterator[tuple[int, list[str]]]:
    for r in range(rounds):
        shift = r % len(variants)
        yield r, variants[shift:] + variants[:shift]


def run_all(
    variants: list[str], mode_sizes: dict[str, Any], modes: list[str], root: Path
) -> dict[str, dict[str, Any]]:
    """{mode: {variant: pooled samples or error}}."""
    from tracklm.testing import LLMServer

    canned = _canned(root)
    template = root / "mlflow-template.db"
    pooled: dict[str, dict[str, Any]] = {m: {v: {} for v in variants} for m in modes}
    with LLMServer(echo=True) as server:
        for mode in modes:
            for r, order in _rounds(variants, mode_sizes["rounds"]):
                for variant in order:
                    folder = root / f"{mode}-{variant}-{r}".replace("+", "_")
                    spec = {
                        "variant": variant,
                        "mode": mode,
                        "folder": str(folder),
                        "template": str(template),
                        "canned": str(canned),
                        "url": server.openai_base_url,
                        "sizes": mode_sizes[mode],
                    }
                    started = time.monotonic()
                    print(f"{mode} round {r + 1}: {variant} ...", file=sys.stderr, flush=True)
                    found, err = run_child(
                        [
                            sys.executable,
                            str(Path(__file__).resolve()),
                            "--child",
                            json.dumps(spec),
                        ],
                        cwd=root,
                        env=_child_env(root),
                        timeout=1800,
                    )
                    target = pooled[mode][variant]
                    if not found or "error" in found[0]:
                        why = found[0]["error"] if found else "no result"
                        target.setdefault("errors", []).append(why)
                        print(err[-3000:], file=sys.stderr)
                        continue
                    for key, values in found[0]["samples"].items():
                        target.setdefault(key, []).extend(values)
                    target.setdefault("recorded", []).append(found[0]["recorded"])
                    print(f"  {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return pooled


def _stats(values: list[int]) -> tuple[float, float]:
    ordered = sorted(values)
    return percentile(ordered, 50) / 1000, percentile(ordered, 99) / 1000


def report(
    pooled: dict[str, dict[str, Any]],
    variants: list[str],
    info: dict[str, Any],
    notes: list[str],
    command: str,
) -> str:
    lines = ["## OpenAI call overhead", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += [f"- command: `{command}`", ""]
    lines += [f"> {note}" for note in notes]
    if notes:
        lines.append("")
    ops = [("chat", "chat"), ("embeddings", "embeddings"), ("ttfc", "stream TTFC"),
           ("chunk", "per chunk")]  # fmt: skip
    verdicts: list[str] = []
    for mode, pooled_mode in pooled.items():
        bare = pooled_mode.get("bare", {})
        title = (
            "fake transport (SDK + instrumentation only; the figures the targets are checked on)"
            if mode == "fake"
            else "real HTTP to the local LLMServer (echo mode; round trip included, noisy)"
        )
        lines += [f"### {title}", ""]
        headers = ["variant"]
        for _, label in ops:
            headers += [f"{label} median µs (added)", f"{label} p99 µs (added)"]
        rows = []
        for variant in variants:
            data = pooled_mode.get(variant, {})
            if "chat" not in data:
                errors = "; ".join(sorted(set(data.get("errors", ["not run"]))))
                rows.append([variant, f"not run: {errors[:160]}"] + [""] * (len(headers) - 2))
                continue
            row = [variant]
            for key, _ in ops:
                median, p99 = _stats(data[key])
                if variant == "bare" or key not in bare:
                    row += [fmt(median), fmt(p99)]
                    continue
                bare_median, bare_p99 = _stats(bare[key])
                row += [f"{fmt(median)} (+{fmt(median - bare_median)})",
                        f"{fmt(p99)} (+{fmt(p99 - bare_p99)})"]  # fmt: skip
                target = TARGETS.get((variant, key))
                if mode == "fake" and target is not None:
                    added = median - bare_median
                    verdict = "met" if added <= target else "MISSED"
                    verdicts.append(
                        f"- {variant}, {dict(ops)[key]}: +{fmt(added)} µs median "
                        f"(target ≤ {fmt(target)} µs): {verdict}"
                    )
            rows.append(row)
        lines += [markdown_table(headers, rows), ""]
        counts = [
            f"{v}: {len(pooled_mode[v]['chat'])} chat / {len(pooled_mode[v]['ttfc'])} streams"
            for v in variants
            if "chat" in pooled_mode.get(v, {})
        ]
        lines += ["Samples pooled over the rounds: " + "; ".join(counts) + ".", ""]
        recorded = {
            v: pooled_mode[v]["recorded"]
            for v in variants
            if pooled_mode.get(v, {}).get("recorded")
        }
        lines += ["Recorded per child (sanity): " + json.dumps(recorded), ""]
    if verdicts:
        lines += ["### Targets (fake transport, added median)", "", *verdicts, ""]
    return "\n".join(lines)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--only", help="comma-separated variants (bare is always run)")
    parser.add_argument("--modes", default="fake,server", help="fake, server or both")
    parser.add_argument("--json", type=Path, help="also write the pooled samples to this file")
    parser.add_argument("--profile", action="store_true", help="cProfile tracklm's caller path")
    parser.add_argument("--profile-sdk", action="store_true", help="... with the OTel SDK")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(json.loads(args.child))
        return 0
    if args.profile or args.profile_sdk:
        profile_main(3_000 if args.quick else 20_000, with_sdk=args.profile_sdk)
        return 0

    sizes = SIZES["quick" if args.quick else "full"]
    variants = list(VARIANTS)
    if args.only:
        wanted = set(args.only.split(",")) | {"bare"}
        variants = [v for v in variants if v in wanted]
    notes = []
    for variant, module in PEERS.items():
        if variant in variants and not _installed(module):
            notes.append(f"{variant} is not installed: skipped (see the command in the docstring).")
            variants.remove(variant)
    info = machine_info(DISTRIBUTIONS)
    info["load average (1 min) at start"] = f"{os.getloadavg()[0]:.2f}"
    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-openai-"))
    started = time.monotonic()
    modes = args.modes.split(",")
    try:
        pooled = run_all(variants, {**sizes}, modes, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    info["wall time of this benchmark"] = f"{time.monotonic() - started:.0f} s"
    info["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}"
    command = "python benchmarks/bench_openai_overhead.py " + " ".join(argv or sys.argv[1:])
    print(report(pooled, variants, info, notes, command.strip()))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "pooled": pooled}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
