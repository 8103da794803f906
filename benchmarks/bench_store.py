"""Benchmark: what logging costs the caller, how fast rows reach SQLite (PostgreSQL, an MLflow
server), memory.

Measures, for tracklm and for MLflow's own SQLite store on the same work, in one run:

* the cost on the caller's thread of one ``log_metric`` and of one ~1 KB table row
  (``log_table``): median and p99 of ``time.perf_counter_ns`` around each call, after a
  warm-up, in an active run;
* sustained rows per second from the caller to SQLite: N rows logged, then ``flush()``;
  rows/s = N / (time from the first call until ``flush()`` returns), plus the background
  flusher's own throughput (caller idle, and per second of flusher work);
* the peak resident memory while logging 100k and 1M rows of ~1 KB, each in its own process;
* the sustained figure again with the PostgreSQL store (a fresh schema on the server
  ``TRACKLM_BENCH_POSTGRES_URL`` names, by default ``TRACKLM_TEST_POSTGRES_URL`` or
  ``postgresql://postgres@127.0.0.1:5432/test``), beside SQLite's; skipped without a server;
* and with the MLflow store: rows from the buffer to an MLflow tracking server over its REST
  API, as the run manager batches them (``mlflow server`` started for the run on a free port,
  SQLite backend, ``--serve-artifacts``; or the server ``TRACKLM_BENCH_MLFLOW_URL`` names).

Every variant runs in a child process of its own with a fresh temporary folder. Run::

    uv run --with mlflow python benchmarks/bench_store.py           # full run, ~2 min on 2 CPUs
    uv run --with mlflow python benchmarks/bench_store.py --quick   # smoke run, < 1 min
    uv run python benchmarks/bench_store.py --profile               # cProfile of tracklm's paths

Without MLflow installed the tracklm variants still run and the report says MLflow is missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

from _common import (
    emit_result,
    fmt,
    machine_info,
    markdown_table,
    peak_rss_mb,
    rss_now_mb,
    run_child,
    summarize_ns,
    timer_overhead_ns,
)

TABLE_CSV = "predictions.csv"
TABLE_JSON = "predictions.json"  # MLflow's log_table writes JSON tables only
METRIC_KEY = "latency_ms"

# Targets from the issue (2-core machine).
TARGET_CALLER_US = 5.0
TARGET_ROWS_PER_S = 50_000

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "metric_n": 200_000, "metric_warmup": 5_000,
        "table_n": 50_000, "table_warmup": 2_000,
        "sustained_n": 200_000, "mlflow_server_n": 100_000,
        "memory_small": 100_000, "memory_large": 1_000_000,
        "mlflow_warmup": 20, "mlflow_metric_n": 300, "mlflow_async_n": 500,
        "mlflow_table_n": 500, "mlflow_table_warmup": 10,
    },
    "quick": {
        "metric_n": 20_000, "metric_warmup": 1_000,
        "table_n": 5_000, "table_warmup": 500,
        "sustained_n": 20_000, "mlflow_server_n": 10_000,
        "memory_small": 10_000, "memory_large": 40_000,
        "mlflow_warmup": 5, "mlflow_metric_n": 30, "mlflow_async_n": 30,
        "mlflow_table_n": 30, "mlflow_table_warmup": 3,
    },
}

# -- the work: one ~1 KB row per call, with text of its own --------------------------------

_PROMPT = (
    "You are a support assistant for an online bookshop. Read the customer's message and "
    "answer in two short paragraphs, citing the order number when there is one. Customer: "
    "Hello, I ordered three paperbacks last Tuesday and the tracking page has not moved since "
    "Thursday. One of them was a gift for my niece's birthday on Saturday, so I would like to "
    "know whether it will arrive in time, and if not whether I can collect it from a shop. "
) * 4
_RESPONSE = (
    "Thank you for getting in touch. Your parcel left our warehouse on Wednesday and is with "
    "the courier; the tracking page updates only when it is scanned at the depot, which is "
    "why it looks stuck. It is due on Friday, a day before the birthday. If it has not "
    "arrived by Friday evening, reply to this message and we will reserve copies for you. "
) * 4
PROMPT_CHARS, RESPONSE_CHARS = 600, 400


def make_row(i: int) -> dict[str, list[Any]]:
    """Row ``i`` as the dict of one-element columns a caller passes to ``log_table``.

    Its prompt and response are new string objects (as an LLM call's would be), ~1 KB in all.
    """
    return {
        "prompt": [f"{i:010d} " + _PROMPT[: PROMPT_CHARS - 11]],
        "response": [f"{i:010d} " + _RESPONSE[: RESPONSE_CHARS - 11]],
        "model": ["gpt-4o-mini"],
        "latency_ms": [412.5 + i % 100],
        "input_tokens": [151],
        "output_tokens": [96],
    }


ROW_BYTES = len(json.dumps({k: v[0] for k, v in make_row(0).items()}))

# -- child side: tracklm ------------------------------------------------------------------


POSTGRES_URL_ENV = "TRACKLM_BENCH_POSTGRES_URL"
MLFLOW_URL_ENV = "TRACKLM_BENCH_MLFLOW_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_url() -> str:
    """The server of the PostgreSQL variants (the tests' server unless told otherwise)."""
    return (
        os.environ.get(POSTGRES_URL_ENV)
        or os.environ.get("TRACKLM_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES_URL
    )


def _tracking_uri(folder: Path, store: str) -> str:
    """The store of a variant: a SQLite folder, a fresh schema on the PostgreSQL server, or
    the MLflow server."""
    if store == "sqlite":
        return str(folder / "store")
    if store == "mlflow":
        return f"mlflow+{os.environ[MLFLOW_URL_ENV]}"
    url = _postgres_url()
    schema = f"tracklm_bench_{os.getpid()}_{int(time.time())}"
    (folder / "schema").write_text(schema)
    os.environ["TRACKLM_ARTIFACT_ROOT"] = str(folder / "store" / "artifacts")
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def _postgres_missing() -> str | None:
    """Why the PostgreSQL variants cannot run here, or None."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (uv sync, or pip install 'tracklm[postgres]')"
    try:
        psycopg.connect(_postgres_url(), connect_timeout=5).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {POSTGRES_URL_ENV} / {DEFAULT_POSTGRES_URL}: {exc}"
    return None


def _tracklm_start(folder: Path, store: str = "sqlite") -> Any:
    import tracklm

    tracklm.set_tracking_uri(_tracking_uri(folder, store))
    # a server outlives the variant: an experiment of its own each time
    tracklm.set_experiment("bench" if store != "mlflow" else f"bench-{folder.name}-{time.time()}")
    run = tracklm.start_run(run_name="bench")
    (folder / "run_id").write_text(run.info.run_id)
    return tracklm


def _tracklm_manager() -> Any:
    from tracklm import _run_manager  # private: only to read the buffer size and time writes

    (manager,) = _run_manager.managers()
    return manager


class FlusherMeter:
    """Times the flusher thread's batch writes (normalize + SQLite + table file).

    Wraps ``RunManager._write`` on the instance; the work done is unchanged.
    """

    def __init__(self, manager: Any) -> None:
        self.rows = self.batches = self.wall_ns = self.cpu_ns = 0
        self.profiler: Any = None  # a cProfile.Profile to run on the flusher's writes
        original = getattr(manager, "_write", None)
        if original is None:  # tracklm's internals changed: no flusher figures
            return
        clock, cpu = time.perf_counter_ns, time.thread_time_ns

        def timed_write(batch: Any) -> None:
            n = len(batch.records)
            a, c = clock(), cpu()
            profiler = self.profiler
            if profiler is not None:
                profiler.enable()
            try:
                original(batch)
            finally:
                if profiler is not None:
                    profiler.disable()
                self.cpu_ns += cpu() - c
                self.wall_ns += clock() - a
                self.rows += n
                self.batches += 1

        manager._write = timed_write

    def reset(self) -> None:
        self.rows = self.batches = self.wall_ns = self.cpu_ns = 0

    def figures(self) -> dict[str, Any]:
        return {
            "flusher_batches": self.batches,
            "flusher_rows_per_s_wall": self.rows / (self.wall_ns / 1e9) if self.wall_ns else None,
            "flusher_rows_per_s_cpu": self.rows / (self.cpu_ns / 1e9) if self.cpu_ns else None,
            "flusher_busy_s": self.wall_ns / 1e9,
        }


def _store_counts(folder: Path, store: str = "sqlite") -> dict[str, int]:
    if store == "mlflow":  # read back through the store, as a user would
        import tracklm

        run_id = (folder / "run_id").read_text()
        client = tracklm.TracklmClient()
        rows = len(client.load_table(None, TABLE_CSV, run_ids=[run_id]))
        return {"table_rows_in_store": rows, "metrics_in_store": 0}
    if store == "postgres":
        import psycopg

        schema = (folder / "schema").read_text()
        with psycopg.connect(_postgres_url(), autocommit=True) as pg:
            rows = pg.execute(f'SELECT count(*) FROM "{schema}".table_rows').fetchone()
            metrics = pg.execute(f'SELECT count(*) FROM "{schema}".metrics').fetchone()
            pg.execute(f'DROP SCHEMA "{schema}" CASCADE')
        assert rows is not None
        assert metrics is not None
        return {"table_rows_in_store": rows[0], "metrics_in_store": metrics[0]}
    conn = sqlite3.connect(folder / "store" / "tracklm.db")
    try:
        rows = conn.execute("SELECT count(*) FROM table_rows").fetchone()[0]
        metrics = conn.execute("SELECT count(*) FROM metrics").fetchone()[0]
    finally:
        conn.close()
    return {"table_rows_in_store": rows, "metrics_in_store": metrics}


def capture_records(tracklm: Any, manager: Any, n: int, base: int) -> tuple[list[Any], float]:
    """The records ``log_table`` queues for rows ``base .. base + n``, taken from the run
    manager's ``submit`` instead of being queued; and the seconds the calls took."""
    captured: list[Any] = []

    def capture(record: Any, *args: Any, **kwargs: Any) -> bool:
        captured.append(record)
        return True

    clock, elapsed = time.perf_counter_ns, 0
    manager.submit = capture  # shadows the method on this instance only
    try:
        for i in range(n):
            data = make_row(base + i)
            a = clock()
            tracklm.log_table(data, TABLE_CSV)
            elapsed += clock() - a
    finally:
        del manager.submit
    return captured, elapsed / 1e9


def buffer_bytes_per_record(tracklm: Any, manager: Any, n: int = 2_000) -> float | None:
    """What one buffered 1 KB row holds in memory (the record, its rows and their strings)."""
    import tracemalloc

    try:
        capture_records(tracklm, manager, 10, 50_000_000)  # warm caches first
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        kept, _ = capture_records(tracklm, manager, n, 60_000_000)
        size = (tracemalloc.get_traced_memory()[0] - before) / len(kept)
        tracemalloc.stop()
        return size
    except Exception:
        tracemalloc.stop()
        return None


def tracklm_variant(
    folder: Path, kind: str, n: int, warmup: int, *, latencies: bool = True,
    table: str = TABLE_CSV, store: str = "sqlite",
) -> dict[str, Any]:
    """Log ``n`` metric values or table rows in an active run, then flush.

    ``latencies`` times each call; without it (the memory runs) nothing per call is kept.
    ``store`` is ``sqlite``, ``postgres`` (a fresh schema, dropped afterwards) or ``mlflow``.
    """
    extra: dict[str, Any] = {}
    if store == "postgres":
        missing = _postgres_missing()
        if missing:
            return {"skipped": missing}
    if store == "mlflow" and not os.environ.get(MLFLOW_URL_ENV):
        return {"skipped": "no MLflow server (install mlflow, or set " + MLFLOW_URL_ENV + ")"}
    tracklm = _tracklm_start(folder, store)
    manager = _tracklm_manager()
    if kind == "memory":
        extra["buffer_bytes_per_record"] = buffer_bytes_per_record(tracklm, manager)
    meter = FlusherMeter(manager)
    log_metric, log_table = tracklm.log_metric, tracklm.log_table

    for i in range(warmup):
        if kind == "metric":
            log_metric(METRIC_KEY, float(i), step=i)
        else:
            log_table(make_row(i), table)
    tracklm.flush()
    meter.reset()

    samples = array("q", bytes(8 * n)) if latencies else None
    clock = time.perf_counter_ns
    rss_before = rss_now_mb()
    t0 = clock()
    if kind == "metric":
        assert samples is not None
        for i in range(n):
            value = float(i)
            a = clock()
            log_metric(METRIC_KEY, value, step=i)
            samples[i] = clock() - a
    elif samples is not None:
        for i in range(n):
            data = make_row(warmup + i)
            a = clock()
            log_table(data, table)
            samples[i] = clock() - a
    else:
        for i in range(n):
            log_table(make_row(warmup + i), table)
    t1 = clock()
    left = tracklm.flush(timeout=0).pending  # what the caller left to the flusher
    result = tracklm.flush()
    t2 = clock()
    peak = peak_rss_mb()

    tracklm.end_run()
    tracklm.flush()
    extra.update(meter.figures())
    extra.update(_store_counts(folder, store))
    extra.update(
        caller_s=(t1 - t0) / 1e9,
        drain_s=(t2 - t1) / 1e9,
        pending_when_caller_done=left,
        drain_rows_per_s=left / ((t2 - t1) / 1e9) if left >= 1_000 else None,
        written=result.written, dropped=result.dropped, pending=result.pending,
        buffer_capacity=getattr(manager, "CAPACITY", None),
        batch_size=getattr(manager, "BATCH_SIZE", None),
    )
    out: dict[str, Any] = {
        "n": n, "rows_per_s": n / ((t2 - t0) / 1e9),
        "peak_rss_mb": peak, "rss_growth_mb": peak - rss_before, "extra": extra,
    }
    if samples is not None:
        out.update(summarize_ns(samples))
    return out


# -- child side: MLflow -------------------------------------------------------------------


def _mlflow_start(folder: Path, template: Path) -> Any:
    """A fresh MLflow SQLite store in ``folder`` (a copy of an empty, migrated database)."""
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    if not template.exists():  # creating MLflow's schema takes seconds: do it once per run
        template.parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(f"sqlite:///{template}")
        mlflow.MlflowClient().search_experiments()
    db = folder / "mlflow.db"
    shutil.copyfile(template, db)
    os.chdir(folder)  # MLflow puts artifacts under ./mlruns
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    mlflow.set_experiment("bench")
    mlflow.start_run(run_name="bench")
    return mlflow


def mlflow_variant(folder: Path, template: Path, kind: str, n: int, warmup: int) -> dict[str, Any]:
    """MLflow's fluent API on its SQLite store: ``log_metric`` (sync or async) or
    ``log_table`` (one row a call; MLflow rewrites the whole table each time)."""
    import inspect

    mlflow = _mlflow_start(folder, template)
    extra: dict[str, Any] = {}
    if kind == "metric_async" and "synchronous" not in inspect.signature(
        mlflow.log_metric
    ).parameters:
        mlflow.end_run()
        return {"skipped": f"MLflow {mlflow.__version__} has no asynchronous logging"}
    run_id = mlflow.active_run().info.run_id
    clock = time.perf_counter_ns
    samples = array("q", bytes(8 * n))

    if kind.startswith("metric"):
        sync = kind == "metric"
        for i in range(warmup):
            mlflow.log_metric(METRIC_KEY, float(i), step=i, synchronous=sync)
        if not sync:
            mlflow.flush_async_logging()
        rss_before = rss_now_mb()
        t0 = clock()
        for i in range(n):
            value, step = float(i), warmup + i
            a = clock()
            mlflow.log_metric(METRIC_KEY, value, step=step, synchronous=sync)
            samples[i] = clock() - a
        t1 = clock()
        if not sync:
            mlflow.flush_async_logging()
        t2 = clock()
        history = mlflow.MlflowClient().get_metric_history(run_id, METRIC_KEY)
        extra["metrics_in_store"] = len(history)
    else:
        for i in range(warmup):
            mlflow.log_table(make_row(i), TABLE_JSON)
        rss_before = rss_now_mb()
        t0 = clock()
        for i in range(n):
            data = make_row(warmup + i)
            a = clock()
            mlflow.log_table(data, TABLE_JSON)
            samples[i] = clock() - a
        t1 = t2 = clock()
        first, last = samples[: max(1, n // 10)], samples[-max(1, n // 10) :]
        extra["first_10pct_median_us"] = summarize_ns(first)["median_us"]
        extra["last_10pct_median_us"] = summarize_ns(last)["median_us"]
        extra["table_rows_in_store"] = len(mlflow.load_table(TABLE_JSON, run_ids=[run_id]))
    peak = peak_rss_mb()
    mlflow.end_run()
    extra.update(caller_s=(t1 - t0) / 1e9, drain_s=(t2 - t1) / 1e9)
    out: dict[str, Any] = {
        "n": n, "rows_per_s": n / ((t2 - t0) / 1e9),
        "peak_rss_mb": peak, "rss_growth_mb": peak - rss_before, "extra": extra,
    }
    out.update(summarize_ns(samples))
    return out


# -- the plan -----------------------------------------------------------------------------


class Variant:
    def __init__(self, name: str, label: str, fn: str, **params: Any) -> None:
        self.name, self.label, self.fn, self.params = name, label, fn, params


def plan(size: dict[str, Any]) -> list[Variant]:
    s = size
    return [
        Variant("tracklm_metric", "tracklm `log_metric`", "tracklm",
                kind="metric", n=s["metric_n"], warmup=s["metric_warmup"]),
        Variant("tracklm_table", "tracklm `log_table`, 1 KB row", "tracklm",
                kind="table", n=s["table_n"], warmup=s["table_warmup"]),
        Variant("tracklm_table_mlflow_work", "tracklm `log_table`, 1 KB row (MLflow's N)",
                "tracklm", kind="table", n=s["mlflow_table_n"],
                warmup=s["mlflow_table_warmup"]),
        Variant("tracklm_sustained", "tracklm sustained, 1 KB rows", "tracklm",
                kind="table", n=s["sustained_n"], warmup=1_000),
        Variant("tracklm_sustained_postgres", "tracklm sustained, 1 KB rows, PostgreSQL",
                "tracklm", kind="table", n=s["sustained_n"], warmup=1_000, store="postgres"),
        Variant("tracklm_sustained_mlflow", "tracklm sustained, 1 KB rows, MLflow server",
                "tracklm", kind="table", n=s["mlflow_server_n"], warmup=1_000, store="mlflow"),
        Variant("tracklm_memory_small", "tracklm memory, 1 KB rows", "tracklm",
                kind="memory", n=s["memory_small"], warmup=1_000, latencies=False),
        Variant("tracklm_memory_large", "tracklm memory, 1 KB rows", "tracklm",
                kind="memory", n=s["memory_large"], warmup=1_000, latencies=False),
        Variant("mlflow_metric", "MLflow `log_metric` (synchronous)", "mlflow",
                kind="metric", n=s["mlflow_metric_n"], warmup=s["mlflow_warmup"]),
        Variant("mlflow_metric_async", "MLflow `log_metric(synchronous=False)`", "mlflow",
                kind="metric_async", n=s["mlflow_async_n"], warmup=s["mlflow_warmup"]),
        Variant("mlflow_table", "MLflow `log_table`, 1 KB row", "mlflow",
                kind="table", n=s["mlflow_table_n"], warmup=s["mlflow_table_warmup"]),
    ]


def child_main(specs: list[dict[str, Any]]) -> None:
    for spec in specs:
        folder = Path(spec["folder"])
        folder.mkdir(parents=True, exist_ok=True)
        params = dict(spec["params"])
        try:
            if spec["fn"] == "tracklm":
                result = tracklm_variant(folder, **params)
            else:
                result = mlflow_variant(folder, Path(spec["template"]), **params)
        except Exception as exc:  # report and go on with the next variant of the group
            import traceback

            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}"}
        emit_result({"name": spec["name"], **result})


# -- parent side --------------------------------------------------------------------------


def _child_env(journal: Path) -> dict[str, str]:
    keep = (POSTGRES_URL_ENV, "TRACKLM_TEST_POSTGRES_URL", MLFLOW_URL_ENV)
    env = {k: v for k, v in os.environ.items()
           if k in keep or not k.startswith(("TRACKLM_", "MLFLOW_"))}
    env.update(
        TRACKLM_JOURNAL_DIR=str(journal),
        TRACKLM_EXIT_TIMEOUT="60",
        MLFLOW_DISABLE_TELEMETRY="true",  # no network from a benchmark
        DO_NOT_TRACK="true",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_plan(variants: list[Variant], root: Path, quick: bool) -> dict[str, dict[str, Any]]:
    """Run each variant in its own child process (in --quick, MLflow's share one process,
    since importing MLflow alone takes seconds)."""
    template = root / "mlflow-template" / "mlflow.db"
    groups: list[list[Variant]] = []
    for v in variants:
        if quick and v.fn == "mlflow" and groups and groups[-1][0].fn == "mlflow":
            groups[-1].append(v)
        else:
            groups.append([v])
    results: dict[str, dict[str, Any]] = {}
    for group in groups:
        specs = [
            {"name": v.name, "fn": v.fn, "params": v.params, "folder": str(root / v.name),
             "template": str(template)}
            for v in group
        ]
        names = ", ".join(v.name for v in group)
        print(f"running {names} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        cwd = root / group[0].name
        cwd.mkdir(parents=True, exist_ok=True)
        try:
            found, err = run_child(
                [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(specs)],
                cwd=cwd, env=_child_env(root / f"journal-{group[0].name}"), timeout=1800,
            )
        except Exception as exc:
            found, err = [], f"{type(exc).__name__}: {exc}"
        for r in found:
            results[r["name"]] = r
        for v in group:
            if v.name not in results:
                results[v.name] = {"name": v.name, "error": "no result; stderr below"}
                print(err[-4000:], file=sys.stderr)
            elif "error" in results[v.name]:
                print(err[-4000:], file=sys.stderr)
        print(f"  done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        if len(group) > 1:
            for v in group:
                results[v.name]["shared_process"] = True
    return results


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _peak(r: dict[str, Any]) -> str:
    if "peak_rss_mb" not in r:
        return "—"
    if r.get("shared_process"):
        return "shared process"
    return f"{r['peak_rss_mb']:.0f} (+{max(0.0, r['rss_growth_mb']):.0f})"


def report(
    variants: list[Variant], results: dict[str, dict[str, Any]], info: dict[str, Any],
    mlflow_note: str | None, overhead_ns: float,
) -> str:
    by = results.get
    comparisons = {  # tracklm variant -> the MLflow variants it is compared with
        "tracklm_metric": [("mlflow_metric", "sync"), ("mlflow_metric_async", "async")],
        "tracklm_table": [("mlflow_table", "log_table")],
        "tracklm_table_mlflow_work": [("mlflow_table", "log_table")],
    }

    def ratio_text(name: str) -> str:
        if name.startswith("mlflow"):
            return "baseline" if "error" not in results.get(name, {}) else "—"
        parts = []
        mine = results[name]
        for other, tag in comparisons.get(name, []):
            theirs = by(other) or {}
            if "median_us" not in theirs or "median_us" not in mine:
                continue
            m = _ratio(mine["median_us"], theirs["median_us"])
            t = _ratio(mine["rows_per_s"], theirs["rows_per_s"])
            parts.append(f"{tag}: median {fmt(m)}x, rows/s {fmt(t)}x")
        return "; ".join(parts) or "—"

    rows = []
    for v in variants:
        r = results.get(v.name)
        if r is None:
            continue
        if "error" in r or "skipped" in r:
            rows.append([v.label, "—", "—", "—", "—", "—", r.get("error") or r.get("skipped")])
            continue
        rows.append([
            v.label, f"{r['n']:,}", fmt(r.get("median_us")), fmt(r.get("p99_us")),
            fmt(r.get("rows_per_s")), _peak(r), ratio_text(v.name),
        ])
    out = ["## Results", ""]
    if mlflow_note:
        out += [f"**{mlflow_note}**", ""]
    out.append(markdown_table(
        ["variant", "calls / rows", "median µs", "p99 µs", "rows/s", "peak MB (growth)",
         "ratio tracklm/MLflow"],
        rows,
    ))
    out += [
        "",
        "- median / p99 µs: `perf_counter_ns` around each call on the caller's thread, after "
        f"a warm-up (timer overhead {overhead_ns:.0f} ns, included).",
        "- rows/s: calls / (time from the first measured call until `flush()` returns; "
        "MLflow sync: until the last call returns; async: until `flush_async_logging()`).",
        "- peak MB: the child process's RSS high-water mark; (growth) = peak minus RSS just "
        "before the measured calls.",
        "- ratio: tracklm's figure / MLflow's (median < 1 and rows/s > 1 mean tracklm is "
        "cheaper / faster).",
    ]

    detail_rows = []
    for v in variants:
        r = results.get(v.name)
        if not r or "extra" not in r:
            continue
        e = r["extra"]
        detail_rows.append([
            f"{v.label} ({r['n']:,})",
            fmt(e.get("caller_s")), fmt(e.get("drain_s")),
            fmt(e.get("pending_when_caller_done")), fmt(e.get("drain_rows_per_s")),
            fmt(e.get("flusher_rows_per_s_wall")), fmt(e.get("flusher_rows_per_s_cpu")),
            fmt(r.get("over_1ms")), fmt(r.get("max_us")),
            fmt(e.get("metrics_in_store") if "metric" in v.params["kind"]
                else e.get("table_rows_in_store")),
            fmt(e.get("dropped")),
        ])
    out += ["", "## Details", "", markdown_table(
        ["variant", "caller s", "flush wait s", "left to flusher", "drain rows/s (caller idle)",
         "flusher rows/s (wall)", "flusher rows/s (CPU)", "calls > 1 ms", "max µs",
         "rows in store", "dropped"],
        detail_rows,
    )]
    out += [
        "",
        "- caller s: time in the measured logging loop; flush wait s: from the end of the loop "
        "until `flush()` returned.",
        "- left to flusher: records buffered or being written when the caller finished "
        "(`flush(timeout=0).pending`); drain rows/s = "
        "those / flush wait (the flusher alone, caller idle; shown from 1,000 records).",
        "- flusher rows/s: records / time inside the flusher's batch writes (normalize, "
        "SQLite, table file), wall clock and thread CPU time, over the measured window.",
    ]
    out += _postgres_lines(results)
    out += _mlflow_server_lines(results)
    t = results.get("mlflow_table", {}).get("extra", {})
    if t.get("first_10pct_median_us"):
        out.append(
            f"- MLflow `log_table` rewrites the whole table on each call: median "
            f"{fmt(t['first_10pct_median_us'])} µs over its first 10% of calls, "
            f"{fmt(t['last_10pct_median_us'])} µs over its last 10%."
        )
    large = results.get("tracklm_memory_large", {})
    if "extra" in large and large["extra"].get("buffer_bytes_per_record"):
        per = large["extra"]["buffer_bytes_per_record"]
        cap = large["extra"]["buffer_capacity"]
        out.append(
            f"- One buffered 1 KB row holds ~{fmt(per)} bytes (tracemalloc); the buffer holds at "
            f"most {cap:,} records, ~{fmt(per * cap / 2**20)} MB."
        )

    out += ["", "## Targets (2-core machine)", ""]
    out += _targets(results)
    out += ["", "## Machine", ""]
    out += [f"- {k}: {v}" for k, v in info.items()]
    out.append(f"- row: ~{ROW_BYTES} bytes as JSON ({PROMPT_CHARS}-char prompt, "
               f"{RESPONSE_CHARS}-char response, model, latency and token columns)")
    return "\n".join(out)


def _postgres_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """PostgreSQL's figures beside SQLite's, for the same 1 KB rows and batches."""
    lite, pg = results.get("tracklm_sustained", {}), results.get("tracklm_sustained_postgres", {})
    if "skipped" in pg:
        return [f"- PostgreSQL variant skipped: {pg['skipped']}"]
    if "rows_per_s" not in lite or "rows_per_s" not in pg:
        return []
    figures = []
    for label, key, where in (
        ("end to end (caller to store)", "rows_per_s", None),
        ("buffer to store, caller idle", "drain_rows_per_s", "extra"),
        ("inside the flusher's writes (wall)", "flusher_rows_per_s_wall", "extra"),
    ):
        a = (lite.get(where, {}) if where else lite).get(key)
        b = (pg.get(where, {}) if where else pg).get(key)
        figures.append(f"{label} {fmt(b)} vs {fmt(a)} ({fmt(_ratio(b, a))}x)")
    return [
        "- PostgreSQL vs SQLite, sustained 1 KB rows, rows/s: " + "; ".join(figures) + ".",
    ]


def _mlflow_server_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """The MLflow server's figures beside SQLite's and PostgreSQL's, for the same rows."""
    server = results.get("tracklm_sustained_mlflow", {})
    if "skipped" in server:
        return [f"- MLflow server variant skipped: {server['skipped']}"]
    if "rows_per_s" not in server:
        return []
    figures = []
    for label, key, where in (
        ("end to end (caller to server, table files written at flush)", "rows_per_s", None),
        ("buffer to server, caller idle", "drain_rows_per_s", "extra"),
        ("inside the flusher's writes (wall)", "flusher_rows_per_s_wall", "extra"),
    ):
        mine = (server.get(where, {}) if where else server).get(key)
        others = []
        for name, store in (("tracklm_sustained", "SQLite"), ("tracklm_sustained_postgres", "PG")):
            theirs = results.get(name, {})
            value = (theirs.get(where, {}) if where else theirs).get(key)
            if value:
                others.append(f"{store} {fmt(value)}")
        figures.append(f"{label} {fmt(mine)}" + (f" (vs {', '.join(others)})" if others else ""))
    return [
        f"- MLflow server (REST, {server['n']:,} rows), rows/s: " + "; ".join(figures) + ".",
    ]


def _start_mlflow_server(root: Path) -> tuple[Any, str] | None:
    """``mlflow server`` on a free port (SQLite backend, served artifacts), or None."""
    import socket
    import subprocess
    import urllib.request

    executable = Path(sys.executable).with_name("mlflow")
    if not executable.exists():
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = root / "mlflow-server"
    folder.mkdir(parents=True)
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = open(folder / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(executable), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", "--serve-artifacts",
         "--artifacts-destination", str(folder / "artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    _stop_mlflow_server(process)
    return None


def _stop_mlflow_server(process: Any) -> None:
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass


def _targets(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "**MISSED**"

    for name, what in (("tracklm_metric", "`log_metric`"), ("tracklm_table", "`log_table` row")):
        r = results.get(name, {})
        if "median_us" in r:
            lines.append(
                f"- caller cost of {what} ≤ {TARGET_CALLER_US:g} µs median: "
                f"{fmt(r['median_us'])} µs — {verdict(r['median_us'] <= TARGET_CALLER_US)}"
            )
    r = results.get("tracklm_sustained", {})
    if "rows_per_s" in r:
        lines.append(
            f"- ≥ {TARGET_ROWS_PER_S:,} rows/s sustained (1 KB rows): {fmt(r['rows_per_s'])} "
            f"rows/s — {verdict(r['rows_per_s'] >= TARGET_ROWS_PER_S)}"
        )
    small, large = results.get("tracklm_memory_small", {}), results.get("tracklm_memory_large", {})
    if "rss_growth_mb" in small and "rss_growth_mb" in large:
        e = large["extra"]
        per_record = e.get("buffer_bytes_per_record") or ROW_BYTES * 1.5
        bound = per_record * ((e["buffer_capacity"] or 0) + 2 * (e["batch_size"] or 0))
        bound_mb = bound / 2**20
        grew, grew_small = large["rss_growth_mb"], small["rss_growth_mb"]
        # bounded: the large run grows no more than the buffer can hold (plus allocator
        # slack), and nowhere near in proportion to its rows
        ratio_rows = large["n"] / small["n"]
        ok = grew <= 1.25 * bound_mb + 64 and grew <= max(3.0, ratio_rows / 3) * max(grew_small, 1)
        lines.append(
            f"- memory bounded by the buffer: RSS grew {fmt(grew_small)} MB for "
            f"{small['n']:,} rows, {fmt(grew)} MB for {large['n']:,} rows ({fmt(ratio_rows)}x "
            f"the rows; buffer bound ~{fmt(bound_mb)} MB) — {verdict(ok)}"
        )
        if large["n"] <= (e["buffer_capacity"] or 0):
            lines.append("  (both runs fit in the buffer here: run without --quick to see it fill)")
    return lines


# -- profile ------------------------------------------------------------------------------


def profile_main(n: int) -> None:
    """Where tracklm's time goes: cProfile of the caller path (main thread) and of the
    flusher's batch writes, per call kind, then the flusher's stages timed without a profiler.
    """
    import cProfile

    folder = Path(tempfile.mkdtemp(prefix="tracklm-bench-profile-"))
    os.environ["TRACKLM_JOURNAL_DIR"] = str(folder / "journal")
    try:
        tracklm = _tracklm_start(folder)
        meter = FlusherMeter(_tracklm_manager())
        tracklm.flush()
        rows = [make_row(i) for i in range(n)]
        calls: list[tuple[str, Any]] = [
            ("log_metric", lambda i: tracklm.log_metric(METRIC_KEY, float(i), step=i)),
            ("log_table (1 KB row)", lambda i: tracklm.log_table(rows[i], TABLE_CSV)),
        ]
        for label, call in calls:
            caller, flusher = cProfile.Profile(), cProfile.Profile()
            meter.profiler = flusher
            caller.enable()
            for i in range(n):
                call(i)
            caller.disable()
            tracklm.flush()
            meter.profiler = None
            _print_profile(f"caller thread: {n:,} x {label}", caller)
            _print_profile(f"flusher thread: writing those {n:,} records", flusher)
        _print_stages(tracklm)
        tracklm.end_run()
        tracklm.flush()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _print_profile(title: str, profile: Any) -> None:
    import io
    import pstats

    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(18)
    body = text.getvalue().strip().splitlines()
    print(f"\n### {title} (cProfile, sorted by own time)\n")
    print("\n".join(line for line in body if line.strip()))


def _print_stages(tracklm: Any, n: int = 5_000, rounds: int = 5) -> None:
    """Time, without a profiler, each piece of work one batch of ``n`` 1 KB rows costs."""
    try:
        _time_stages(tracklm, n, rounds)
    except Exception as exc:  # these use tracklm's internals, which may have moved
        print(f"\n(flusher stages skipped: {type(exc).__name__}: {exc})")


def _time_stages(tracklm: Any, n: int, rounds: int) -> None:
    from tracklm._run_manager.records import Batch
    from tracklm.client import _table_rows
    from tracklm.stores import _sql_store, _table_files

    manager = _tracklm_manager()
    clock = time.perf_counter
    stages: dict[str, list[float]] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        a = clock()
        out = fn(*args)
        stages.setdefault(name, []).append(clock() - a)
        return out

    def normalize(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row for d in data for row in _table_rows(d)]

    base = 10_000_000
    for r in range(rounds):
        data = [make_row(base + 2 * r * n + i) for i in range(n)]
        rows = timed("caller: each dict to plain-JSON rows (client._table_rows)", normalize, data)
        names, _, _ = timed("flusher: rows' JSON and facet columns (_sql_store._encoded_rows)",
                            _sql_store._encoded_rows, rows)
        timed("flusher: CSV render (_table_files._csv)", _table_files._csv, names, rows, False)
        records, caller_s = capture_records(tracklm, manager, n, base + (2 * r + 1) * n)
        stages.setdefault("caller: tracklm.log_table calls, queueing stubbed out", []).append(
            caller_s)
        timed("flusher: RunManager._write of those records (real store)", manager._write,
              Batch(records))
    print(f"\n### stages for a batch of {n:,} rows of ~1 KB (median of {rounds}, no profiler)\n")
    table = []
    for name, values in stages.items():
        median = sorted(values)[len(values) // 2]
        table.append([name, f"{median * 1e3:.1f}", f"{median / n * 1e6:.2f}"])
    print(markdown_table(["stage", "ms per batch", "µs per row"], table))


def _source_digest() -> str:
    """A digest of tracklm's source files, to tell which code was measured."""
    import hashlib

    spec = importlib.util.find_spec("tracklm")
    if spec is None or spec.origin is None:
        return "not found"
    package = Path(spec.origin).parent
    files = sorted(package.rglob("*.py"))
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.relative_to(package).as_posix().encode() + b"\0" + f.read_bytes())
    newest = max(f.stat().st_mtime for f in files)
    changed = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(newest))
    return f"sha256 {digest.hexdigest()[:12]} of {len(files)} files (newest change {changed})"


# -- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (< 1 min)")
    parser.add_argument("--only", help="comma-separated variant names to run")
    parser.add_argument("--json", type=Path, help="also write the raw results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile tracklm's caller and flusher paths instead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child_main(json.loads(args.child))
        return 0
    if args.profile:
        profile_main(20_000 if args.quick else 100_000)
        return 0

    mode = "quick" if args.quick else "full"
    variants = plan(SIZES[mode])
    have_mlflow = importlib.util.find_spec("mlflow") is not None
    mlflow_note = None
    if not have_mlflow:
        mlflow_note = (
            "MLflow is not installed: its variants were skipped. Run with "
            "`uv run --with mlflow python benchmarks/bench_store.py` to compare."
        )
        variants = [v for v in variants if v.fn != "mlflow"]
    if args.only:
        wanted = set(args.only.split(","))
        variants = [v for v in variants if v.name in wanted]

    info = machine_info(["tracklm", "mlflow"])
    info["tracklm source"] = _source_digest()
    info["mode"] = mode
    load_start = os.getloadavg()
    overhead = timer_overhead_ns()
    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-"))
    started = time.monotonic()
    server = None
    wants_server = any(v.params.get("store") == "mlflow" for v in variants)
    if wants_server and have_mlflow and not os.environ.get(MLFLOW_URL_ENV):
        print("starting an MLflow server ...", file=sys.stderr, flush=True)
        server = _start_mlflow_server(root)
        if server is not None:
            os.environ[MLFLOW_URL_ENV] = server[1]
    try:
        results = run_plan(variants, root, quick=args.quick)
    finally:
        if server is not None:
            _stop_mlflow_server(server[0])
            del os.environ[MLFLOW_URL_ENV]
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    info["wall time of this benchmark"] = f"{time.monotonic() - started:.0f} s"
    info["load average (1 min) at start / end"] = (
        f"{load_start[0]:.2f} / {os.getloadavg()[0]:.2f} (other processes compete for the CPUs "
        "when this is above ~0.5 at the start)"
    )
    text = report(variants, results, info, mlflow_note, overhead)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
