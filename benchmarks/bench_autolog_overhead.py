"""Benchmark: what autologging adds to an LLM SDK call (OpenAI, Anthropic, Google Gen AI).

Variants, per SDK, all in one run and on the same calls:

* ``bare``: the SDK, nothing else;
* ``tracklm``: ``tracklm.autolog()``, no OpenTelemetry SDK configured;
* ``tracklm+otel``: ``tracklm.autolog()`` with the OpenTelemetry SDK (tracer provider with a
  ``BatchSpanProcessor`` to an ``InMemorySpanExporter``, meter provider with an
  ``InMemoryMetricReader``);
* ``otel-openai-v2`` (OpenAI only): ``opentelemetry-instrumentation-openai-v2`` with the same
  SDK set-up;
* ``mlflow``: ``mlflow.openai.autolog()``, ``mlflow.anthropic.autolog()`` or
  ``mlflow.gemini.autolog()`` (traces to a SQLite tracking store, MLflow's default
  asynchronous trace logging).

Each variant runs in child processes of its own; the variants alternate in rounds (the order
rotates each round, the SDKs take turns within a round) and the samples of all rounds are
pooled. Most figures use a fake transport: the SDK's own client gets an
``httpx2.Client(transport=httpx2.MockTransport(...))`` that returns responses recorded once
from ``LLMServer`` (see ``_sdk_clients.py``), so a call costs only the SDK's and the
instrumentation's own work. Measurements (``--modes``):

* ``paired``: in one process, the instrumentation switched on and off in alternating blocks of
  iterations; added = on - off (medians, p99s, caller CPU). The direct overhead, back to back.
* ``paced``: the same with 2 ms of sleep after each call (the network wait of a real call).
* ``fake``: each variant in its own processes, back to back; added = variant - bare.
* ``server``: real HTTP to one ``LLMServer`` run by the parent; noisy, context.

``--inside`` times tracklm's wrapper from the inside (shims around and within it).
``--floor`` measures the least any wrapper can add to a stream's time to first chunk: in one
process, blocks alternate between the bare SDK, a wrapt wrapper that only calls the method,
that wrapper returning a transparent proxy that only notes the first chunk's time, that
wrapper handing back the SDK's own stream with only its SSE decoder wrapped to note the first
bytes' time (no proxy: the least that still sees a stream's content), and tracklm (OpenAI and
Anthropic: the method tracklm wraps, ``request``). ``--count`` counts, rather than times, the
bytecode instructions each call runs on the caller's thread, tracklm off and on: figures that
do not move with the machine's load (see ``_opcodes.py``).

Each iteration makes the SDK's non-streaming calls (OpenAI: chat and embeddings; Anthropic:
``messages.create``; Google: ``generate_content`` and ``embed_content``) and, every 5th
iteration, its streams (OpenAI: ``stream=True``, 66 chunks; Anthropic: ``messages.create(
stream=True)``, 75 events, and the ``messages.stream()`` manager's ``text_stream``, 70 texts;
Google: ``generate_content_stream``, 64 chunks): time to first chunk (from the call to the
first chunk in the caller's hands) and time per chunk after the first ((last - first) /
(chunks - 1), which includes finishing the record once at the end). Run::

    uv run python benchmarks/bench_autolog_overhead.py             # all SDKs, tracklm and MLflow
    uv run python benchmarks/bench_autolog_overhead.py --quick     # smoke run
    uv run python benchmarks/bench_autolog_overhead.py --sdk anthropic --only tracklm
    uv run python benchmarks/bench_autolog_overhead.py --inside    # time inside the wrapper
    uv run python benchmarks/bench_autolog_overhead.py --floor     # a do-nothing wrapper's cost
    uv run python benchmarks/bench_autolog_overhead.py --count     # bytecode instructions per call
    uv run python benchmarks/bench_autolog_overhead.py --profile --sdk openai
    uv run python benchmarks/bench_autolog_overhead.py --source /tmp/base   # another tree

A peer that is not installed (or fails) is reported as such; the other variants still run.
MLflow's children make a quarter of the calls of the others (it costs milliseconds per call).
The report warns when tracklm dropped records (a failing store makes its figures void), and
prints a digest of the measured source and the load average before each child.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median_low
from typing import Any

from _common import (
    emit_result,
    fmt,
    loop_seconds,
    machine_info,
    percentile,
    run_child,
    source_digest,
)
from _floor_hooks import HOOKS
from _opcodes import OpcodeCounter
from _overhead_report import PAIRED, TITLES, report, signed
from _sdk_clients import (
    SDKS,
    WORKLOADS,
    Workload,
    canned_once,
    fake_client,
    missing_fixtures,
    record_canned,
    start_server,
)

# MLflow costs milliseconds per call: its children make a quarter of the calls (enough for
# medians of milliseconds), which keeps the full run near 35 minutes on 2 cores.
SCALE = {"mlflow": 0.25}
VARIANTS = ["bare", "tracklm", "tracklm+otel", "otel-openai-v2", "mlflow"]
PEERS = {"otel-openai-v2": "opentelemetry.instrumentation.openai_v2", "mlflow": "mlflow"}
ONLY_FOR = {"otel-openai-v2": {"openai"}}  # peers that instrument one SDK only
DISTRIBUTIONS = [
    "tracklm",
    "httpx2",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-instrumentation-openai-v2",
    "opentelemetry-util-genai",
    "mlflow",
]

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "paired": {"rounds": 3, "warmup": 200, "calls": 1000, "block": 20, "streams": 200},
        "paced": {
            "rounds": 2, "warmup": 100, "calls": 600, "block": 20, "streams": 120, "pause": 0.002,
        },
        "fake": {"rounds": 3, "warmup": 200, "calls": 1000, "streams": 200},
        "server": {"rounds": 2, "warmup": 100, "calls": 400, "streams": 80},
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


def setup(variant: str, workload: Workload, folder: Path, template: Path) -> Installed:
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

        flavor: Any = importlib.import_module(f"mlflow.{workload.mlflow_flavor}")
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
            lambda: flavor.autolog(), lambda: flavor.autolog(disable=True), mlflow_report
        )
    else:
        raise ValueError(f"unknown variant {variant}")
    installed.enable()
    return installed


class Timer:
    """Times the calls of one client: wall clock (``perf_counter_ns``) and the caller thread's
    CPU time (``thread_time_ns``: its own work, without waits for the GIL or for a CPU)."""

    def __init__(self, client: Any, workload: Workload, pause: float, stream_every: int) -> None:
        self.client = client
        self.workload = workload
        self.calls = [(c.key, c.run) for c in workload.calls if not c.stream]
        self.streams = [(c.key, c.run) for c in workload.calls if c.stream]
        self.pause = pause
        self.stream_every = stream_every

    def samples(self) -> dict[str, list[int]]:
        keys = [key for key, _, _ in self.workload.columns()]
        keys += [f"{key}.chunks" for key, _ in self.streams]
        return {name: [] for key in keys for name in (key, f"{key}_cpu")}

    def iteration(self, i: int, into: dict[str, list[int]] | None) -> None:
        """The non-streaming calls and, every ``stream_every`` iterations, the streams; each
        followed by ``pause`` seconds (the network wait of a real call)."""
        clock, cpu = time.perf_counter_ns, time.thread_time_ns
        client = self.client
        for key, run in self.calls:
            c0, t0 = cpu(), clock()
            run(client)
            t1, c1 = clock(), cpu()
            self._rest()
            if into is not None:
                into[key].append(t1 - t0)
                into[f"{key}_cpu"].append(c1 - c0)
        if i % self.stream_every:
            return
        for key, run in self.streams:
            c0, t0 = cpu(), clock()
            iterator = iter(run(client))
            next(iterator)
            t1, c1 = clock(), cpu()
            n = 1
            for _ in iterator:
                n += 1
            t2, c2 = clock(), cpu()
            self._rest()
            if into is not None:
                per = max(1, n - 1)
                into[f"{key}.ttfc"].append(t1 - t0)
                into[f"{key}.ttfc_cpu"].append(c1 - c0)
                into[f"{key}.chunk"].append((t2 - t1) // per)
                into[f"{key}.chunk_cpu"].append((c2 - c1) // per)
                into[f"{key}.chunks"].append(n)

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
    workload = WORKLOADS[spec["sdk"]]
    try:
        installed = setup(spec["variant"], workload, folder, Path(spec["template"]))
        if spec["mode"] == "server":
            client = workload.client(spec["url"])
        else:
            canned = json.loads(Path(spec["canned"]).read_text())[workload.sdk]
            client = fake_client(workload, canned)
        every = max(1, sizes["calls"] // sizes["streams"])
        timer = Timer(client, workload, sizes.get("pause", 0.0), every)
        process_cpu = time.process_time_ns()
        caller_cpu = time.thread_time_ns()
        if spec["mode"] in PAIRED:
            result["paired"] = measure_paired(timer, installed, sizes)
        else:
            result["samples"] = measure(timer, sizes)
        caller_cpu = time.thread_time_ns() - caller_cpu
        result["recorded"] = installed.report()
        # CPU of the other threads (flusher, span processor, server...) during the run
        background_ns = time.process_time_ns() - process_cpu - caller_cpu
        iterations = sizes["calls"] + (0 if spec["mode"] in PAIRED else sizes["warmup"])
        result["background_us"] = background_ns / iterations / 1000
        close = getattr(client, "close", None)
        if close is not None:
            close()
    except Exception as exc:
        import traceback

        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    emit_result(result)


# -- inside the wrapper, profile ---------------------------------------------------------------


def inside_main(sdks: list[str], calls: int) -> None:
    """tracklm's own time on the caller's thread per call, measured inside the call: the
    time through tracklm's wrapper of the method it wraps (``SyncAPIClient.request`` for
    OpenAI and Anthropic, ``Models.generate_content`` / ``embed_content`` for Google) minus
    the time in the wrapped method (timing shims outside and inside the wrapper), less the
    shims' own cost (the same measure with no wrapper between them). One process per set-up."""
    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-inside-"))
    try:
        canned = canned_once(sdks, root)
        lines = [
            "| SDK | set-up | calls | wrapper time per call: median / p90 / p99 µs |",
            "|---|---|---|---|",
        ]
        runs = [(v, p) for p in (0.0, 0.002) for v in ("bare", "tracklm", "tracklm+otel")]
        for sdk in sdks:
            for variant, pause in runs:
                folder = root / f"{sdk}-{variant}-{pause}".replace("+", "_")
                spec = {"sdk": sdk, "variant": variant, "folder": str(folder),
                        "canned": str(canned), "calls": calls, "pause": pause}  # fmt: skip
                argv = [sys.executable, str(Path(__file__).resolve()), "--inside-child"]
                found, err = run_child(
                    [*argv, json.dumps(spec)], cwd=root, env=_child_env(root), timeout=1800
                )
                paced = "2 ms apart" if pause else "back to back"
                if not found or "error" in found[0]:
                    print(err[-3000:], file=sys.stderr)
                    lines.append(f"| {sdk} | {variant} | {paced} | failed |")
                    continue
                r = found[0]
                figures = f"{fmt(r['median'])} / {fmt(r['p90'])} / {fmt(r['p99'])}"
                lines.append(f"| {sdk} | {variant} | {paced} | {figures} |")
                print(lines[-1], file=sys.stderr, flush=True)
        print("\n".join(lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def inside_child(spec: dict[str, Any]) -> None:
    workload = WORKLOADS[spec["sdk"]]
    clock = time.perf_counter_ns
    inner: list[int] = []
    outer: list[int] = []

    def shim(method: Callable[..., Any], into: list[int]) -> Callable[..., Any]:
        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return method(self, *args, **kwargs)
            finally:
                into.append(clock() - t0)

        return timed

    classes = [
        (getattr(importlib.import_module(module), cls), method)
        for module, cls, method in workload.inside
    ]
    for cls, method in classes:
        setattr(cls, method, shim(getattr(cls, method), inner))
    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    try:
        setup(spec["variant"], workload, folder, folder / "none")  # tracklm wraps the shims
    except Exception as exc:
        emit_result({"error": f"{type(exc).__name__}: {exc}"})
        return
    for cls, method in classes:
        setattr(cls, method, shim(getattr(cls, method), outer))
    canned = json.loads(Path(spec["canned"]).read_text())[workload.sdk]
    client = fake_client(workload, canned)
    timer = Timer(client, workload, spec["pause"], 1 << 30)  # non-streaming calls only
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


FLOOR_SETUPS = (*HOOKS, "tracklm")


def floor_main(sdks: list[str], blocks: int) -> None:
    """The added median time to first chunk of each of :data:`FLOOR_SETUPS` (see the module
    docstring), one process per SDK."""
    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-floor-"))
    before = loop_seconds()
    try:
        stainless = [s for s in sdks if WORKLOADS[s].inside[0][2] == "request"]
        canned = canned_once(stainless, root)
        lines = [
            "| SDK | stream | " + " | ".join(f"{s}: added median µs" for s in FLOOR_SETUPS) + " |",
            "|---|---|" + "---|" * len(FLOOR_SETUPS),
        ]
        for sdk in stainless:
            spec = {"sdk": sdk, "folder": str(root / sdk), "canned": str(canned), "blocks": blocks}
            argv = [sys.executable, str(Path(__file__).resolve()), "--floor-child"]
            found, err = run_child(
                [*argv, json.dumps(spec)], cwd=root, env=_child_env(root), timeout=1800
            )
            if not found or "error" in found[0]:
                print(err[-3000:], file=sys.stderr)
                lines.append(f"| {sdk} | failed |")
                continue
            r = found[0]
            added = " | ".join(signed(r[s] - r["off"]) for s in FLOOR_SETUPS)
            lines.append(f"| {WORKLOADS[sdk].title} | {r['stream']} | {added} |")
        lines.append(
            f"\nAn empty loop of 20M iterations took {before:.2f} s before, "
            f"{loop_seconds():.2f} s after."
        )
        print("\n".join(lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def floor_child(spec: dict[str, Any]) -> None:
    import wrapt

    workload = WORKLOADS[spec["sdk"]]
    module_name, class_name, method = workload.inside[0]
    owner = getattr(importlib.import_module(module_name), class_name)
    original = vars(owner)[method]
    clock = time.perf_counter_ns

    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    tracklm_setup = setup("tracklm", workload, folder, folder / "none")
    tracklm_setup.disable()

    def use(name: str) -> None:
        tracklm_setup.disable()
        setattr(owner, method, original)
        if name == "tracklm":
            tracklm_setup.enable()
        elif name != "off":
            wrapt.wrap_function_wrapper(owner, method, HOOKS[name])

    client = fake_client(workload, json.loads(Path(spec["canned"]).read_text())[workload.sdk])
    stream = next(c for c in workload.calls if c.stream)
    others = [c for c in workload.calls if not c.stream]
    samples: dict[str, list[int]] = {name: [] for name in ("off", *FLOOR_SETUPS)}

    def one(into: list[int] | None) -> None:
        for call in others:  # the iteration's other calls, as in the paired mode
            call.run(client)
        t0 = clock()
        chunks = iter(stream.run(client))
        next(chunks)
        t1 = clock()
        for _ in chunks:
            pass
        if into is not None:
            into.append(t1 - t0)

    order = list(samples)
    for _ in range(100):
        one(None)
    for block in range(spec["blocks"]):
        for name in order[block % len(order) :] + order[: block % len(order)]:
            use(name)
            one(None)  # the first call after a switch
            for _ in range(10):
                one(samples[name])
    use("off")
    medians = {name: percentile(sorted(v), 50) / 1000 for name, v in samples.items()}
    emit_result({"stream": stream.label, **medians})


COUNT_VARIANTS = ("tracklm", "tracklm+otel")


def count_main(sdks: list[str], calls: int) -> None:
    """The bytecode instructions each call runs on the caller's thread (``_opcodes``): all of
    them with tracklm off (the SDK's, its libraries', the standard library's), how many more
    with it on, and of those how many are in tracklm's packages (the others: code without a
    file, such as dataclasses' ``__init__``, and, with the OpenTelemetry SDK, its spans). One
    process per SDK and set-up; medians of ``calls`` calls."""
    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-count-"))
    try:
        canned = canned_once(sdks, root)
        lines = [
            "| SDK | set-up | figure | the SDK's, tracklm off | added, on - off "
            "| of which tracklm's own code | added / the SDK's |",
            "|---|---|---|---|---|---|---|",
        ]
        for sdk in sdks:
            for variant in COUNT_VARIANTS:
                folder = root / f"{sdk}-{variant}".replace("+", "_")
                spec = {"sdk": sdk, "variant": variant, "folder": str(folder),
                        "canned": str(canned), "calls": calls}  # fmt: skip
                argv = [sys.executable, str(Path(__file__).resolve()), "--count-child"]
                found, err = run_child(
                    [*argv, json.dumps(spec)], cwd=root, env=_child_env(root), timeout=1800
                )
                if not found or "error" in found[0]:
                    print(err[-3000:], file=sys.stderr)
                    lines.append(f"| {sdk} | {variant} | failed |")
                    continue
                for label, (sdk_own, ours, others) in found[0]["figures"].items():
                    added = ours + others
                    share = f"{100 * added / sdk_own:.2f} %" if sdk_own else "-"
                    lines.append(
                        f"| {WORKLOADS[sdk].title} | {variant} | {label} | {fmt(sdk_own)} "
                        f"| {signed(added)} | {fmt(ours)} | {share} |"
                    )
        print("\n".join(lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def count_child(spec: dict[str, Any]) -> None:
    import tracklm

    workload = WORKLOADS[spec["sdk"]]
    folder = Path(spec["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    installed = setup(spec["variant"], workload, folder, folder / "none")
    ours = [Path(tracklm.__file__).parent]
    ours += [Path(importlib.import_module(m).__file__ or "").parent for m in _INTEGRATIONS]
    counter = OpcodeCounter(ours)
    client = fake_client(workload, json.loads(Path(spec["canned"]).read_text())[workload.sdk])

    def counts(call: Any) -> list[tuple[str, tuple[int, int]]]:
        """(figure, (ours, others')) of one call, or of one stream's two figures."""
        if not call.stream:
            mine, theirs, _ = counter.count(lambda: call.run(client))
            return [(call.label, (mine, theirs))]
        mine, theirs, chunks = counter.count(lambda: _first(call.run(client)))
        rest_mine, rest_theirs, n = counter.count(lambda: sum(1 for _ in chunks))
        per = max(1, n)  # chunks after the first (the stream's end included)
        return [
            (f"{call.label}: to first chunk", (mine, theirs)),
            (f"{call.label}: per chunk", (rest_mine // per, rest_theirs // per)),
        ]

    medians: dict[str, dict[str, tuple[int, int]]] = {}
    for state in ("off", "on"):
        (installed.enable if state == "on" else installed.disable)()
        found: dict[str, list[tuple[int, int]]] = {}
        for i in range(10 + spec["calls"]):  # the first calls fill caches: not counted
            for call in workload.calls:
                for label, pair in counts(call):
                    if i >= 10:
                        found.setdefault(label, []).append(pair)
        medians[state] = {
            label: (median_low([p[0] for p in v]), median_low([p[1] for p in v]))
            for label, v in found.items()
        }
    installed.report()
    figures = {
        label: (theirs, medians["on"][label][0], medians["on"][label][1] - theirs)
        for label, (_, theirs) in medians["off"].items()
    }
    emit_result({"figures": figures})


_INTEGRATIONS = ("tracklm_openai", "tracklm_anthropic", "tracklm_google_genai")


def _first(chunks: Any) -> Any:
    iterator = iter(chunks)
    next(iterator)
    return iterator


def profile_main(sdk: str, calls: int, with_sdk: bool) -> None:
    """cProfile the caller's thread of tracklm-autologged non-streaming calls (fake
    transport): the SDK's first call of an iteration."""
    import cProfile
    import pstats

    workload = WORKLOADS[sdk]
    call = next(c for c in workload.calls if not c.stream)
    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-profile-"))
    try:
        canned = canned_once([sdk], root)
        setup("tracklm+otel" if with_sdk else "tracklm", workload, root, root / "none")
        client = fake_client(workload, json.loads(canned.read_text())[sdk])
        for _ in range(300):
            call.run(client)
        import tracklm

        tracklm.flush()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            call.run(client)
        profiler.disable()
        stats = pstats.Stats(profiler)
        print(
            f"# {calls} {workload.title} {call.label} calls, caller's thread, "
            f"{'with' if with_sdk else 'no'} OTel SDK"
        )
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


def _child_env(root: Path) -> dict[str, str]:
    prefixes = ("TRACKLM_", "MLFLOW_", "OTEL_", "OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        TRACKLM_JOURNAL_DIR=str(root / "journal"),
        TRACKLM_EXIT_TIMEOUT="120",
        MLFLOW_DISABLE_TELEMETRY="true",  # no network from a benchmark
        DO_NOT_TRACK="true",
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED="0",  # the same dict layouts in every child: less noise between them
    )
    return env


def _variants_of(sdk: str, variants: list[str], mode: str) -> list[str]:
    return [
        v
        for v in variants
        if sdk in ONLY_FOR.get(v, {sdk}) and not (mode in PAIRED and v == "bare")
    ]


def _pool(target: dict[str, Any], result: dict[str, Any], paired: bool) -> None:
    if paired:
        for state in ("on", "off"):
            into = target.setdefault(state, {})
            for key, values in result["paired"][state].items():
                into.setdefault(key, []).extend(values)
    else:
        for key, values in result["samples"].items():
            target.setdefault(key, []).extend(values)
    target.setdefault("recorded", []).append(result["recorded"])
    target.setdefault("background_us", []).append(result["background_us"])


def _scaled(sizes: dict[str, Any], scale: float) -> dict[str, Any]:
    """``sizes`` with ``scale`` times the calls, streams and warm-up (whole blocks)."""
    if scale == 1.0:
        return sizes
    block = sizes.get("block", 1)
    calls = max(block, round(sizes["calls"] * scale / block) * block)
    streams = max(1, round(sizes["streams"] * calls / sizes["calls"]))
    return sizes | {
        "calls": calls,
        "streams": streams,
        "warmup": max(20, round(sizes["warmup"] * scale)),
    }


def run_all(
    sdks: list[str],
    variants: list[str],
    sizes: dict[str, Any],
    modes: list[str],
    root: Path,
    info: dict[str, Any],
) -> dict[str, dict[str, dict[str, Any]]]:
    """{sdk: {mode: {variant: samples pooled over the rounds (paired: {"on", "off"})}}};
    the load average before each child goes to ``info["loads"]``."""
    template = root / "mlflow-template.db"
    loads = info.setdefault("loads", [])
    pooled: dict[str, dict[str, dict[str, Any]]] = {sdk: {} for sdk in sdks}
    _no_nagle()
    server = start_server(sdks, root)
    try:
        canned = record_canned(server, sdks, root / "canned.json")
        for mode in modes:
            for sdk in sdks:
                pooled[sdk][mode] = {v: {} for v in _variants_of(sdk, variants, mode)}
            for r in range(sizes[mode]["rounds"]):
                for sdk in sdks:  # the SDKs take turns in each round: drifting load hits all
                    in_mode = _variants_of(sdk, variants, mode)
                    shift = r % max(1, len(in_mode))
                    for variant in in_mode[shift:] + in_mode[:shift]:
                        folder = root / f"{sdk}-{mode}-{variant}-{r}".replace("+", "_")
                        spec = {
                            "sdk": sdk,
                            "variant": variant,
                            "mode": mode,
                            "folder": str(folder),
                            "template": str(template),
                            "canned": str(canned),
                            "url": server.url,
                            "sizes": _scaled(sizes[mode], SCALE.get(variant, 1.0)),
                        }
                        loads.append(os.getloadavg()[0])
                        started = time.monotonic()
                        what = f"{mode} round {r + 1}: {sdk} {variant} ..."
                        print(what, file=sys.stderr, flush=True)
                        argv = [sys.executable, str(Path(__file__).resolve()), "--child"]
                        found, err = run_child(
                            [*argv, json.dumps(spec)], cwd=root, env=_child_env(root), timeout=1800
                        )
                        target = pooled[sdk][mode][variant]
                        if not found or "error" in found[0]:
                            why = found[0]["error"] if found else "no result"
                            target.setdefault("errors", []).append(why)
                            print(err[-3000:], file=sys.stderr)
                            continue
                        _pool(target, found[0], mode in PAIRED)
                        spent = time.monotonic() - started
                        print(f"  {spent:.1f} s", file=sys.stderr, flush=True)
    finally:
        server.stop()
    return pooled


def _use_source(tree: Path) -> None:
    """Put ``tree``'s tracklm and integrations first on this process's path and, through
    ``PYTHONPATH``, on its children's (their installed entry points name modules only)."""
    folders = [tree / "src", *sorted(tree.glob("integrations/*/src"))]
    if not (tree / "src" / "tracklm").is_dir():
        raise SystemExit(f"--source {tree}: no src/tracklm there")
    paths = [str(f.resolve()) for f in folders]
    sys.path[:0] = paths
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + ([previous] if previous else []))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--sdk", default=",".join(SDKS), help="comma-separated, of those")
    parser.add_argument("--only", help="comma-separated variants (bare is always run)")
    parser.add_argument("--modes", default="paired,paced,fake,server", help="of those")
    parser.add_argument("--json", type=Path, help="also write the pooled samples to this file")
    parser.add_argument("--profile", action="store_true", help="cProfile tracklm's caller path")
    parser.add_argument("--profile-sdk", action="store_true", help="... with the OTel SDK")
    parser.add_argument("--inside", action="store_true", help="time inside tracklm's wrapper")
    parser.add_argument("--floor", action="store_true", help="a do-nothing wrapper's cost")
    parser.add_argument(
        "--count", action="store_true", help="bytecode instructions per call, deterministic"
    )
    parser.add_argument(
        "--source",
        type=Path,
        help="measure the tracklm source of another tree (a checkout, or `git archive` of a "
        "commit): its src/ and integrations/*/src/ go first on the children's path",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--inside-child", help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", help=argparse.SUPPRESS)
    parser.add_argument("--count-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.source:
        _use_source(args.source)
    if args.child:
        child_main(json.loads(args.child))
        return 0
    if args.inside_child:
        inside_child(json.loads(args.inside_child))
        return 0
    if args.floor_child:
        floor_child(json.loads(args.floor_child))
        return 0
    if args.count_child:
        count_child(json.loads(args.count_child))
        return 0

    notes = []
    sdks = []
    for sdk in args.sdk.split(","):
        if sdk not in WORKLOADS:
            parser.error(f"unknown SDK {sdk!r}: one of {', '.join(SDKS)}")
        why = missing_fixtures(sdk)
        if why is None and not _installed(WORKLOADS[sdk].module):
            why = f"{WORKLOADS[sdk].module} is not installed"
        if why is None:
            sdks.append(sdk)
        else:
            notes.append(f"{sdk}: skipped, {why}.")
    modes = args.modes.split(",")
    for mode in modes:
        if mode not in TITLES:
            parser.error(f"unknown mode {mode!r}: one of {', '.join(TITLES)}")
    if args.inside:
        inside_main(sdks, 1_000 if args.quick else 4_000)
        return 0
    if args.floor:
        floor_main(sdks, 30 if args.quick else 300)
        return 0
    if args.count:
        count_main(sdks, 5 if args.quick else 20)
        return 0
    if args.profile or args.profile_sdk:
        for sdk in sdks:
            profile_main(sdk, 3_000 if args.quick else 20_000, with_sdk=args.profile_sdk)
        return 0

    sizes = SIZES["quick" if args.quick else "full"]
    variants = list(VARIANTS)
    if args.only:
        wanted = set(args.only.split(",")) | {"bare"}
        variants = [v for v in variants if v in wanted]
    for variant, module in PEERS.items():
        if variant in variants and not _installed(module):
            notes.append(f"{variant} is not installed: skipped (see benchmarks/README.md).")
            variants.remove(variant)
    distributions = ["tracklm"]
    for sdk in sdks:
        distributions += WORKLOADS[sdk].distributions
    distributions += [d for d in DISTRIBUTIONS if d not in distributions]
    info = machine_info(list(dict.fromkeys(distributions)))
    if args.source:
        info["source tree measured"] = str(args.source)
    info["tracklm source"] = source_digest(
        ["tracklm", *(f"tracklm_{s.replace('-', '_')}" for s in sdks)]
    )
    info["load average (1 min) at start"] = f"{os.getloadavg()[0]:.2f}"
    info["empty loop of 20M iterations at start"] = f"{loop_seconds():.2f} s"
    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-autolog-"))
    started = time.monotonic()
    runs: dict[str, Any] = {}
    try:
        pooled = run_all(sdks, variants, sizes, modes, root, runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    info["wall time of this benchmark"] = f"{time.monotonic() - started:.0f} s"
    info["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}"
    info["empty loop of 20M iterations at end"] = f"{loop_seconds():.2f} s"
    if runs.get("loads"):
        loads = sorted(runs["loads"])
        info["load average (1 min) before each child: min / median / max"] = (
            f"{loads[0]:.2f} / {loads[len(loads) // 2]:.2f} / {loads[-1]:.2f}"
        )
    command = "python benchmarks/bench_autolog_overhead.py " + " ".join(argv or sys.argv[1:])
    print(report(pooled, sizes, info, notes, command.strip()))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "pooled": pooled}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
