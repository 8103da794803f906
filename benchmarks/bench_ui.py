"""Benchmark: how fast ``tracklm ui`` answers a run page, with 1,000 and 200,000 table rows.

For a run of 1,000 and one of 200,000 predictions rows (the stores are made first, through the
store's write path), ``tracklm ui`` is started as a user starts it (a child process running the
CLI) and measured from this process:

* **time to first byte** (TTFB) and the whole response, with ``http.client`` on one kept-alive
  connection: the run page's first page, its last page, a page filtered on ``status``, a text
  search, and the chart data of a 100,000-value metric (thinned on the server);
* **rendered first page**: a headless Chromium (Debian's ``chromium``, driven by Playwright)
  opens the run page until the DOM is ready with the table's rows in it, and until every chart
  is drawn (the charts fetch their data after the page is shown).

Each figure is the median (and the slowest) of several rounds after one warm-up. Run::

    uv run python benchmarks/bench_ui.py              # ~1 min on 2 CPUs, most of it building
    uv run python benchmarks/bench_ui.py --rounds 5   # fewer rounds
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import fmt, machine_info, markdown_table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' store builder (tests/ui/_data.py)

from tests.ui._data import BIG_RUN, big_store  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SIZES = (1_000, 200_000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds per figure")
    parser.add_argument("--keep", action="store_true", help="keep the stores' folder")
    args = parser.parse_args()
    chromium = os.environ.get("TRACKLM_CHROMIUM") or shutil.which("chromium")
    folder = Path(tempfile.mkdtemp(prefix="tracklm-bench-ui-"))
    results: dict[int, dict[str, Any]] = {}
    built: dict[int, float] = {}
    try:
        for rows in SIZES:
            started = time.perf_counter()
            big_store(folder / f"store-{rows}", rows=rows, points=100_000)
            built[rows] = time.perf_counter() - started
            with serving(folder / f"store-{rows}") as port:
                results[rows] = measure_http(port, rows, args.rounds)
                if chromium:
                    results[rows] |= measure_browser(port, chromium, args.rounds)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(report(results, built, args.rounds, chromium))
    return 0


@contextmanager
def serving(store: Path) -> Iterator[int]:
    """``tracklm ui`` over ``store`` in a child process, as a user runs it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    env = {**os.environ, "TRACKLM_JOURNAL_DIR": str(store.parent / "journal")}
    command = [sys.executable, "-m", "tracklm", "--tracking-uri", str(store), "ui"]
    child = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        while not child.stdout.readline().startswith("Open http"):
            if child.poll() is not None:
                raise RuntimeError("tracklm ui did not start")
        yield port
    finally:
        child.terminate()
        child.wait(10)


def timed(rounds: int, once: Callable[[], tuple[float, float]]) -> dict[str, float]:
    once()  # warm-up
    firsts, totals = zip(*(once() for _ in range(rounds)), strict=True)
    return {
        "ttfb_ms": statistics.median(firsts) * 1000,
        "ttfb_max_ms": max(firsts) * 1000,
        "total_ms": statistics.median(totals) * 1000,
        "total_max_ms": max(totals) * 1000,
    }


def measure_http(port: int, rows: int, rounds: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    last = (rows + 49) // 50

    def get(path: str) -> Callable[[], tuple[float, float]]:
        def once() -> tuple[float, float]:
            started = time.perf_counter()
            conn.request("GET", path)
            answer = conn.getresponse()  # returns once the status line and headers arrived
            first = time.perf_counter() - started
            body = answer.read()
            assert answer.status == 200, (path, answer.status, body[:300])
            return first, time.perf_counter() - started

        return once

    run = f"/runs/{BIG_RUN}"
    figures = {
        "first page": timed(rounds, get(run)),
        "last page": timed(rounds, get(f"{run}?page={last}")),
        "status=error, page 2": timed(rounds, get(f"{run}?status=error&page=2")),
        "text search": timed(rounds, get(f"{run}?q=order+{rows - 1}%3F")),
        "chart data (100,000 values)": timed(
            rounds, get(f"/api/runs/{BIG_RUN}/metrics/latency_ms")
        ),
    }
    conn.close()
    return {"http": figures}


NAVIGATION = """() => {
    const n = performance.getEntriesByType("navigation")[0];
    return [n.responseStart, n.domContentLoadedEventEnd];
}"""


def measure_browser(port: int, chromium: str, rounds: int) -> dict[str, Any]:
    """The browser's own clock (Navigation Timing) for the page; the wall clock for the chart,
    drawn once its data arrives from the JSON endpoint."""
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{port}/runs/{BIG_RUN}"
    first_byte: list[float] = []
    dom: list[float] = []
    charts: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for i in range(rounds + 1):
            page.goto("about:blank")
            started = time.perf_counter()
            page.goto(url, wait_until="domcontentloaded")
            assert page.locator("#rows tbody tr").count() == 50
            page.locator("figure.chart .uplot canvas").first.wait_for(state="attached")
            drawn = time.perf_counter() - started
            response_start, dom_ready = page.evaluate(NAVIGATION)
            if i:  # the first is the warm-up
                first_byte.append(response_start / 1000)
                dom.append(dom_ready / 1000)
                charts.append(drawn)
        browser.close()
    return {
        "browser": {
            name: (statistics.median(values) * 1000, max(values) * 1000)
            for name, values in (("ttfb", first_byte), ("dom", dom), ("charts", charts))
        }
    }


def report(
    results: dict[int, dict[str, Any]], built: dict[int, float], rounds: int, chromium: str | None
) -> str:
    info = machine_info(["tracklm", "starlette", "uvicorn", "jinja2", "playwright"])
    lines = ["# tracklm ui: time to first byte and to a rendered page", ""]
    headers = ["request"] + [f"{rows:,} rows: TTFB / whole (max) ms" for rows in results]
    table = []
    for name in results[SIZES[0]]["http"]:
        cells = [name]
        for rows in results:
            f = results[rows]["http"][name]
            cells.append(f"{fmt(f['ttfb_ms'])} / {fmt(f['total_ms'])} ({fmt(f['total_max_ms'])})")
        table.append(cells)
    lines += [
        f"HTTP, one kept-alive connection, median of {rounds} rounds after a warm-up:",
        "",
        markdown_table(headers, table),
        "",
    ]
    if chromium:
        headers = ["in Chromium, the run page, from navigation start"]
        headers += [f"{rows:,} rows: median (max) ms" for rows in results]
        names = {
            "ttfb": "first byte of the page",
            "dom": "DOM ready (DOMContentLoaded), the table's 50 rows in it",
            "charts": "the chart of 100,000 values drawn (wall clock)",
        }
        table = [
            [label]
            + [
                f"{fmt(results[r]['browser'][k][0])} ({fmt(results[r]['browser'][k][1])})"
                for r in results
            ]
            for k, label in names.items()
        ]
        lines += [
            f"A headless Chromium, median of {rounds} loads after a warm-up:",
            "",
            markdown_table(headers, table),
            "",
        ]
    else:
        lines += ["(Chromium not found: apt-get install -y chromium for the browser figures)", ""]
    lines += [
        "Stores built through the store's write path: "
        + ", ".join(f"{rows:,} rows in {built[rows]:.1f} s" for rows in built)
        + " (each with a metric of 100,000 values).",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
