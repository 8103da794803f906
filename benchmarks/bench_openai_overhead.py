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

Each variant runs in child processes of its own; the variants alternate in rounds (the order
rotates each round) and the samples of all rounds are pooled. Most figures use a fake
transport: ``http_client=httpx2.Client(transport=httpx2.MockTransport(...))`` returns
responses recorded once from ``LLMServer``'s echo mode, so a call costs only the SDK's and the
instrumentation's own work. Measurements (``--modes``):

* ``paired``: in one process, the instrumentation switched on and off in alternating blocks of
  calls; added = on - off (medians, p99s, caller CPU). The direct overhead, back to back.
* ``paced``: the same with 2 ms of sleep after each call (the network wait of a real call).
* ``fake``: each variant in its own processes, back to back; added = variant - bare.
* ``server``: real HTTP to one ``LLMServer`` (echo mode) run by the parent; noisy, context.

``--inside`` times tracklm's wrapper from the inside (shims around and within it).

Per call it times chat (``chat.completions.create``), embeddings (``embeddings.create``) and a
stream (``stream=True``, 66 chunks): time to first chunk (from the call to the first chunk in
the caller's hands) and time per chunk after the first ((last - first) / (chunks - 1), which
includes finishing the record once at the end). Run::

    uv run --with mlflow --with opentelemetry-instrumentation-openai-v2 --with httpx \\
        --with 'opentelemetry-util-genai<1' python benchmarks/bench_openai_overhead.py
    uv run python benchmarks/bench_openai_overhead.py --quick      # tracklm only, smoke run
    uv run python benchmarks/bench_openai_overhead.py --inside     # time inside the wrapper
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
        "paired": {"rounds": 3, "warmup": 200, "calls": 1000, "block": 20, "streams": 200},
        "paced": {
            "rounds": 2, "warmup": 100, "calls": 600, "block": 20, "streams": 120, "pause": 0.002,
        },
        "fake": {"rounds": 5, "warmup": 200, "calls": 1000, "streams": 200},
        "server": {"rounds": 3, "warmup": 100, "calls": 400, "streams": 80},
    },
    "quick": {
        "paired": {"rounds": 1, "warmup": 50, "calls": 300, "block": 20, "streams": 60},
        "paced": {
            "rounds": 1, "warmup": 50, "calls": 200, "block": 20, "streams": 40, "pause": 0.002,
        },
        "fake": {"rounds": 2, "warmup": 50, "calls": 300, "streams": 60},
        "server": {"rounds": 2, "warmup": 30, "calls": 100, "streams": 20},
    },
}  # fmt: skip
PAIRED = ("paired", "paced")  # the modes that switch the instrumentation on and off in-process

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


class Installed:
    """A variant set up in this process: how to turn it on and off, and what it recorded."""

    def __init__(
        self,
        enable: Callable[[], None],
        disable: Callable[[], None],
        report: Callable[[], dict[str, Any]],
    ) -> None:
        self.enable, self.disable, self.report = enable, disable, report


def _nothing() -> None:
    return None


def setup(variant: str, folder: Path, template: Path) -> Installed:
    """Set the variant up (turned on); ``disable``/``enable`` switch its instrumentation."""
    if variant == "bare":
        return Installed(_nothing, _nothing, dict)
    if variant in ("tracklm", "tracklm+otel"):
        sdk = _otel_sdk() if variant == "tracklm+otel" else None
        import tracklm

        tracklm.set_tracking_uri(str(folder / "store"))

        def tracklm_report() -> dict[str, Any]:
            flushed = tracklm.flush(timeout=120)
            report: dict[str, Any] = {"written": flushed.written, "dropped": flushed.dropped}
            if sdk is not None:
                sdk[0].force_flush()
                report["spans"] = len(sdk[1].get_finished_spans())
            return report

        installed = Installed(
            lambda: tracklm.autolog(), lambda: tracklm.autolog(disable=True), tracklm_report
        )
    elif variant == "otel-openai-v2":
        sdk = _otel_sdk()
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        def v2_report() -> dict[str, Any]:
            sdk[0].force_flush()
            return {"spans": len(sdk[1].get_finished_spans())}

        instrumentor = OpenAIInstrumentor()
        installed = Installed(instrumentor.instrument, instrumentor.uninstrument, v2_report)
    elif variant == "mlflow":
        import mlflow

        db = folder / "mlflow.db"
        if template.exists():
            shutil.copy(template, db)
        mlflow.set_tracking_uri(f"sqlite:///{db}")
        mlflow.set_experiment("bench")  # creates the schema (seconds), before anything is timed
        if not template.exists():
            shutil.copy(db, template)

        def mlflow_report() -> dict[str, Any]:
            flush = getattr(mlflow, "flush_trace_async_logging", None)
            if flush is not None:
                flush()
            import sqlite3

            with sqlite3.connect(db) as conn:
                (traces,) = conn.execute("SELECT COUNT(*) FROM trace_info").fetchone()
            return {"traces": traces}

        installed = Installed(
            lambda: mlflow.openai.autolog(),
            lambda: mlflow.openai.autolog(disable=True),
            mlflow_report,
        )
    else:
        raise ValueError(f"unknown variant {variant}")
    installed.enable()
    return installed


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


KEYS = ("chat", "embeddings", "ttfc", "chunk")


class Timer:
    """Times calls of one client: wall clock (``perf_counter_ns``) and the caller thread's CPU
    time (``thread_time_ns``: its own work, without waits for the GIL or for a CPU)."""

    def __init__(self, client: Any, pause: float, stream_every: int) -> None:
        self.client = client  # methods looked up per call: a peer may patch or unpatch them
        self.pause = pause
        self.stream_every = stream_every

    @staticmethod
    def samples() -> dict[str, list[int]]:
        return {name: [] for key in KEYS for name in (key, f"{key}_cpu")} | {"chunks": []}

    def iteration(self, i: int, into: dict[str, list[int]] | None) -> None:
        """A chat call, an embeddings call and, every ``stream_every`` iterations, a stream;
        each followed by ``pause`` seconds (the network wait of a real call)."""
        clock, cpu = time.perf_counter_ns, time.thread_time_ns
        c0, t0 = cpu(), clock()
        self.client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
        t1, c1 = clock(), cpu()
        self._rest()
        c2, t2 = cpu(), clock()
        self.client.embeddings.create(model=EMBED_MODEL, input=EMBED_INPUT)
        t3, c3 = clock(), cpu()
        self._rest()
        if into is not None:
            into["chat"].append(t1 - t0)
            into["chat_cpu"].append(c1 - c0)
            into["embeddings"].append(t3 - t2)
            into["embeddings_cpu"].append(c3 - c2)
        if i % self.stream_every:
            return
        c0, t0 = cpu(), clock()
        response = self.client.chat.completions.create(
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
        self._rest()
        if into is not None:
            per = max(1, n - 1)
            into["ttfc"].append(t1 - t0)
            into["ttfc_cpu"].append(c1 - c0)
            into["chunk"].append((t2 - t1) // per)
            into["chunk_cpu"].append((c2 - c1) // per)
            into["chunks"].append(n)

    def _rest(self) -> None:
        if self.pause:
            time.sleep(self.pause)


def measure(timer: Timer, sizes: dict[str, Any]) -> dict[str, list[int]]:
    """The variant as set up, ``calls`` iterations after a warm-up."""
    for i in range(sizes["warmup"]):
        timer.iteration(i, None)
    found = timer.samples()
    for i in range(sizes["calls"]):
        timer.iteration(i, found)
    return found


def measure_paired(timer: Timer, installed: Installed, sizes: dict[str, Any]) -> dict[str, Any]:
    """In one process, blocks of iterations with the instrumentation on and off alternate;
    the first iteration after each switch is not counted."""
    for i in range(sizes["warmup"]):
        timer.iteration(i, None)
    on, off = timer.samples(), timer.samples()
    block = sizes["block"]
    i = 0
    for _ in range(sizes["calls"] // block):
        for enabled, into in ((False, off), (True, on)):
            (installed.enable if enabled else installed.disable)()
            timer.iteration(1, None)  # the first call after a switch (caches, new run...)
            for _ in range(block):
                timer.iteration(i, into)
                i += 1
    return {"on": on, "off": off}


def child_main(spec: dict[str, Any]) -> None:
    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"variant": spec["variant"], "mode": spec["mode"]}
    sizes = spec["sizes"]
    try:
        installed = setup(spec["variant"], folder, Path(spec["template"]))
        if spec["mode"] == "server":
            import openai

            client = openai.OpenAI(api_key="bench", base_url=spec["url"], max_retries=0)
        else:
            client = _fake_client(json.loads(Path(spec["canned"]).read_text()))
        every = max(1, sizes["calls"] // sizes["streams"])
        timer = Timer(client, sizes.get("pause", 0.0), every)
        process_cpu = time.process_time_ns()
        caller_cpu = time.thread_time_ns()
        if spec["mode"] in PAIRED:
            result["paired"] = measure_paired(timer, installed, sizes)
        else:
            result["samples"] = measure(timer, sizes)
        caller_cpu = time.thread_time_ns() - caller_cpu
        result["recorded"] = installed.report()
        # CPU of the other threads (flusher, span processor, server...) during the run
        result["background_cpu_s"] = (time.process_time_ns() - process_cpu - caller_cpu) / 1e9
        client.close()
    except Exception as exc:
        import traceback

        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    emit_result(result)


# -- profile -----------------------------------------------------------------------------------


def inside_main(calls: int) -> None:
    """tracklm's own time on the caller's thread per call, measured inside the call: the
    time through tracklm's wrapper of ``SyncAPIClient.request`` minus the time in the
    wrapped method (timing shims outside and inside the wrapper), less the shims' own cost
    (the same measure with no wrapper between them). One process per set-up."""
    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-inside-"))
    try:
        canned = _canned(root)
        lines = [
            "| set-up | calls | wrapper time per call: median / p90 / p99 µs |",
            "|---|---|---|",
        ]
        runs = [(v, p) for p in (0.0, 0.002) for v in ("bare", "tracklm", "tracklm+otel")]
        for variant, pause in runs:
            folder = root / f"{variant}-{pause}".replace("+", "_")
            spec = {"variant": variant, "folder": str(folder), "canned": str(canned),
                    "calls": calls, "pause": pause}  # fmt: skip
            argv = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--inside-child",
                json.dumps(spec),
            ]
            found, err = run_child(argv, cwd=root, env=_child_env(root), timeout=1800)
            paced = "2 ms apart" if pause else "back to back"
            if not found:
                print(err[-3000:], file=sys.stderr)
                lines.append(f"| {variant} | {paced} | failed |")
                continue
            r = found[0]
            figures = f"{fmt(r['median'])} / {fmt(r['p90'])} / {fmt(r['p99'])}"
            lines.append(f"| {variant} | {paced} | {figures} |")
        print("\n".join(lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def inside_child(spec: dict[str, Any]) -> None:
    import openai._base_client as base_client

    clock = time.perf_counter_ns
    inner: list[int] = []
    outer: list[int] = []
    original = base_client.SyncAPIClient.request

    def inner_shim(self: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        try:
            return original(self, *args, **kwargs)
        finally:
            inner.append(clock() - t0)

    base_client.SyncAPIClient.request = inner_shim  # type: ignore[method-assign]
    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    setup(spec["variant"], folder, folder / "none")  # tracklm wraps inner_shim
    wrapped = base_client.SyncAPIClient.request

    def outer_shim(self: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        try:
            return wrapped(self, *args, **kwargs)
        finally:
            outer.append(clock() - t0)

    base_client.SyncAPIClient.request = outer_shim  # type: ignore[method-assign]
    client = _fake_client(json.loads(Path(spec["canned"]).read_text()))
    timer = Timer(client, spec["pause"], 1 << 30)  # chat and embeddings calls, no stream
    for i in range(200):
        timer.iteration(i, None)
    inner.clear()
    outer.clear()
    for i in range(spec["calls"]):
        timer.iteration(i, None)
    spent = sorted(o - i for o, i in zip(outer, inner, strict=True))
    emit_result(
        {
            "median": percentile(spent, 50) / 1000,
            "p90": percentile(spent, 90) / 1000,
            "p99": percentile(spent, 99) / 1000,
        }
    )


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


def _no_nagle() -> None:
    """LLMServer writes a response's head and body in separate small writes; with Nagle's
    algorithm on, the client's delayed ACK then holds the body ~40 ms. Turned off here for
    the benchmark (TCP_NODELAY, as ``socketserver`` offers)."""
    from tracklm.testing import _http

    handler: Any = getattr(_http, "_Handler", None)
    if handler is not None:
        handler.disable_nagle_algorithm = True


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
        PYTHONHASHSEED="0",  # the same dict layouts in every child: less noise between them
    )
    return env


def _rounds(variants: list[str], rounds: int) -> Iterator[tuple[int, list[str]]]:
    for r in range(rounds):
        shift = r % len(variants)
        yield r, variants[shift:] + variants[:shift]


def run_all(
    variants: list[str], sizes: dict[str, Any], modes: list[str], root: Path
) -> dict[str, dict[str, Any]]:
    """{mode: {variant: samples pooled over the rounds (paired: {"on": ..., "off": ...})}}."""
    from tracklm.testing import LLMServer

    canned = _canned(root)
    template = root / "mlflow-template.db"
    pooled: dict[str, dict[str, Any]] = {}
    _no_nagle()
    with LLMServer(echo=True) as server:
        for mode in modes:
            in_mode = [v for v in variants if not (mode in PAIRED and v == "bare")]
            pooled[mode] = {v: {} for v in in_mode}
            for r, order in _rounds(in_mode, sizes[mode]["rounds"]):
                for variant in order:
                    folder = root / f"{mode}-{variant}-{r}".replace("+", "_")
                    spec = {
                        "variant": variant,
                        "mode": mode,
                        "folder": str(folder),
                        "template": str(template),
                        "canned": str(canned),
                        "url": server.openai_base_url,
                        "sizes": sizes[mode],
                    }
                    started = time.monotonic()
                    print(f"{mode} round {r + 1}: {variant} ...", file=sys.stderr, flush=True)
                    argv = [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--child",
                        json.dumps(spec),
                    ]
                    found, err = run_child(argv, cwd=root, env=_child_env(root), timeout=1800)
                    target = pooled[mode][variant]
                    if not found or "error" in found[0]:
                        why = found[0]["error"] if found else "no result"
                        target.setdefault("errors", []).append(why)
                        print(err[-3000:], file=sys.stderr)
                        continue
                    result = found[0]
                    if mode in PAIRED:
                        for state in ("on", "off"):
                            into = target.setdefault(state, {})
                            for key, values in result["paired"][state].items():
                                into.setdefault(key, []).extend(values)
                    else:
                        for key, values in result["samples"].items():
                            target.setdefault(key, []).extend(values)
                    target.setdefault("recorded", []).append(result["recorded"])
                    target.setdefault("background_cpu_s", []).append(result["background_cpu_s"])
                    print(f"  {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return pooled


def _stats(values: list[int]) -> tuple[float, float]:
    ordered = sorted(values)
    return percentile(ordered, 50) / 1000, percentile(ordered, 99) / 1000


TITLES = {
    "paired": (
        "Direct overhead, back to back: fake transport, in one process, the instrumentation "
        "switched on and off in alternating blocks of 20 iterations (added = on - off)"
    ),
    "paced": (
        "Direct overhead, paced: as above with 2 ms of sleep after each call (standing in for the "
        "network wait of a real call: background threads run then, and caches go cold)"
    ),
    "fake": (
        "Fake transport, back to back, each variant in its own process (added = variant - bare): "
        "the caller path plus what background threads take from the caller"
    ),
    "server": (
        "Real HTTP to the local LLMServer (echo mode), each variant in its own process "
        "(added = variant - bare): round trip included, noisy"
    ),
}
OPS = {
    "chat": "chat",
    "embeddings": "embeddings",
    "ttfc": "stream: time to first chunk",
    "chunk": "stream: per chunk",
}


def _cell(data: dict[str, list[int]], base: dict[str, list[int]] | None, key: str) -> str:
    median, p99 = _stats(data[key])
    cpu, _ = _stats(data[f"{key}_cpu"])
    if base is None:
        return f"{fmt(median)} / {fmt(p99)} (CPU {fmt(cpu)})"
    base_median, base_p99 = _stats(base[key])
    base_cpu, _ = _stats(base[f"{key}_cpu"])
    return (
        f"{_signed(median - base_median)} / {_signed(p99 - base_p99)} "
        f"(CPU {_signed(cpu - base_cpu)})"
    )


def report(
    pooled: dict[str, dict[str, Any]],
    sizes: dict[str, Any],
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
    verdicts: list[str] = []
    headers = [
        "variant",
        *(f"{label}: median / p99 µs" for label in OPS.values()),
        "other threads' CPU per iteration µs",
    ]
    for mode, pooled_mode in pooled.items():
        lines += [f"### {TITLES[mode]}", ""]
        bare = pooled_mode.get("bare", {})
        rows = []
        for variant, data in pooled_mode.items():
            has = "on" in data if mode in PAIRED else "chat" in data
            if not has:
                errors = "; ".join(sorted(set(data.get("errors", ["not run"]))))
                rows.append([variant, f"not run: {errors[:200]}"] + [""] * (len(OPS)))
                continue
            iterations = sizes[mode]["calls"] + (0 if mode in PAIRED else sizes[mode]["warmup"])
            background = sum(data["background_cpu_s"]) / len(data["background_cpu_s"])
            bg = fmt(background / iterations * 1e6)
            if mode in PAIRED:
                rows.append([f"{variant} (off)", *(_cell(data["off"], None, k) for k in OPS), ""])
                rows.append(
                    [f"{variant} (on - off)", *(_cell(data["on"], data["off"], k) for k in OPS), bg]
                )
                base, measured = data["off"], data["on"]
            elif variant == "bare":
                rows.append([variant, *(_cell(data, None, k) for k in OPS), bg])
                continue
            else:
                rows.append([f"{variant} (- bare)", *(_cell(data, bare, k) for k in OPS), bg])
                base, measured = bare, data
            if mode not in PAIRED or not base:
                continue
            for key, label in OPS.items():
                target = TARGETS.get((variant, key))
                if target is None:
                    continue
                added = _stats(measured[key])[0] - _stats(base[key])[0]
                added_cpu = _stats(measured[f"{key}_cpu"])[0] - _stats(base[f"{key}_cpu"])[0]
                verdict = "met" if added <= target else "MISSED"
                verdicts.append(
                    f"- {mode}: {variant}, {label}: {_signed(added)} µs "
                    f"(caller CPU {_signed(added_cpu)} µs), target ≤ {fmt(target)} µs: {verdict}"
                )
        lines += [markdown_table(headers, rows), ""]
        first = next(iter(pooled_mode.values()), {})
        sample = first.get("off", first) if mode in PAIRED else first
        if "chat" in sample:
            chunks = fmt(percentile(sorted(sample["chunks"]), 50))
            lines += [
                f"{len(sample['chat'])} chat and {len(sample['embeddings'])} embeddings calls and "
                f"{len(sample['ttfc'])} streams of {chunks} chunks per variant"
                + (" and state" if mode in PAIRED else "")
                + f", pooled over {sizes[mode]['rounds']} rounds.",
                "",
            ]
        recorded = {v: d["recorded"][0] for v, d in pooled_mode.items() if d.get("recorded")}
        lines += [f"What the first child of each variant recorded: `{json.dumps(recorded)}`", ""]
    if verdicts:
        lines += ["### Targets (direct overhead, added median)", "", *verdicts, ""]
    return "\n".join(lines)


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + fmt(abs(value))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--only", help="comma-separated variants (bare is always run)")
    parser.add_argument("--modes", default="paired,paced,fake,server", help="of those")
    parser.add_argument("--json", type=Path, help="also write the pooled samples to this file")
    parser.add_argument("--profile", action="store_true", help="cProfile tracklm's caller path")
    parser.add_argument("--profile-sdk", action="store_true", help="... with the OTel SDK")
    parser.add_argument("--inside", action="store_true", help="time inside tracklm's wrapper")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--inside-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(json.loads(args.child))
        return 0
    if args.inside_child:
        inside_child(json.loads(args.inside_child))
        return 0
    if args.inside:
        inside_main(1_000 if args.quick else 4_000)
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
        pooled = run_all(variants, sizes, modes, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    info["wall time of this benchmark"] = f"{time.monotonic() - started:.0f} s"
    info["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}"
    command = "python benchmarks/bench_openai_overhead.py " + " ".join(argv or sys.argv[1:])
    print(report(pooled, sizes, info, notes, command.strip()))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "pooled": pooled}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
