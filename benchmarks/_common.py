"""Helpers shared by the benchmarks: statistics, memory, machine facts, child processes.

Each benchmark variant runs in a child process of its own (fresh interpreter, fresh temporary
folder), so that one variant's global state, threads and memory high-water mark never leak into
the next. The child prints one ``BENCH-RESULT {json}`` line; the parent collects them.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH-RESULT "


# -- statistics ------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[int], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(q / 100 * len(sorted_values) + 0.5 - 1e-9))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def summarize_ns(samples: Sequence[int]) -> dict[str, float]:
    """Median, p99, mean and max of per-call durations given in nanoseconds, in µs."""
    values = sorted(samples)
    n = len(values)
    return {
        "calls": n,
        "median_us": percentile(values, 50) / 1000,
        "p99_us": percentile(values, 99) / 1000,
        "mean_us": (sum(values) / n / 1000) if n else float("nan"),
        "max_us": (values[-1] / 1000) if n else float("nan"),
        "over_1ms": sum(1 for v in values if v > 1_000_000),
    }


def timer_overhead_ns(rounds: int = 200_000) -> float:
    """Median cost of an empty ``perf_counter_ns()`` pair, to read small timings against."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(rounds):
        a = clock()
        b = clock()
        samples.append(b - a)
    samples.sort()
    return float(samples[len(samples) // 2])


# -- memory ----------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's resident-set high-water mark, in MB (``getrusage``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def rss_now_mb() -> float:
    """This process's current resident set, in MB (Linux ``/proc``; the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError):
        return peak_rss_mb()


# -- machine ---------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info(distributions: Sequence[str]) -> dict[str, Any]:
    """What the figures depend on: CPUs, OS, Python, SQLite and package versions."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    info: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
    }
    for name in distributions:
        info[name] = _version(name) or "not installed"
    return info


def loop_seconds(iterations: int = 20_000_000) -> float:
    """Seconds an empty Python loop of ``iterations`` takes: how fast the CPU runs right now.

    A shared VM's speed changes by several times from hour to hour (steal time does not show
    it); this, printed with the figures, says how fast the machine was when they were taken.
    """
    start = time.perf_counter()
    for _ in range(iterations):
        pass
    return time.perf_counter() - start


# -- child processes -------------------------------------------------------------------------


def emit_result(result: dict[str, Any]) -> None:
    """Hand a child's result to the parent (one line on stdout)."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def run_child(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float
) -> tuple[list[dict[str, Any]], str]:
    """Run a child benchmark; return its results and its stderr (for when it fails)."""
    proc = subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
        check=False,
    )
    results = [
        json.loads(line[len(RESULT_PREFIX) :])
        for line in proc.stdout.splitlines()
        if line.startswith(RESULT_PREFIX)
    ]
    err = proc.stderr
    if proc.returncode != 0:
        err += f"\n(child exited with status {proc.returncode})"
    return results, err


# -- output ----------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 3) -> str:
    """A number with about ``digits`` significant digits, thousands separated; '—' for None."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if value != value:  # NaN
        return "—"
    if abs(value) >= 10 ** (digits - 1) or (value == int(value) and abs(value) >= 1):
        return f"{round(value):,}"
    return f"{value:.{digits}g}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def source_digest(packages: Sequence[str]) -> str:
    """A digest of the packages' source files, to tell which code a result measured."""
    import hashlib
    import importlib.util

    files: list[tuple[str, Path]] = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        folder = Path(spec.origin).parent
        files += [(f"{name}/{f.relative_to(folder).as_posix()}", f) for f in folder.rglob("*.py")]
    if not files:
        return "not found"
    files.sort()
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(relative.encode() + b"\0" + path.read_bytes())
    newest = max(path.stat().st_mtime for _, path in files)
    changed = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(newest))
    return f"sha256 {digest.hexdigest()[:12]} of {len(files)} files (newest change {changed})"
