"""Benchmark: machine instructions a stream's first chunk costs, counted by valgrind.

Wall-clock figures of a few microseconds do not hold still on a shared VM; the instructions
the CPU runs do. This counts, with valgrind's callgrind, the instructions (all threads, C
and Python alike) from the call to the first chunk in the caller's hands, over ``--streams``
streams of the fake transport of ``bench_autolog_overhead.py``, in one process per set-up:

* ``bare``: the SDK alone;
* ``wrapper``: a ``wrapt`` wrapper on the method tracklm wraps (``request``) that only calls
  it: the least any wrapt-based instrumentation costs;
* ``wrapper+decoder``: that wrapper handing back the SDK's own stream with only its SSE
  decoder wrapped to note when the first bytes arrive: the least an instrumentation that
  sees a stream's content costs;
* ``tracklm``: ``tracklm.autolog()``, no OpenTelemetry SDK.

Collection is switched on only around each call-to-first-chunk (a callgrind client request,
from a two-line C file compiled at run time); the garbage collector runs between streams,
not inside the counted part (so what it costs is not counted); the flusher writes between
streams too, and is waiting again when the next count starts; ``PYTHONHASHSEED`` is fixed.
So a tree gives nearly the same figures from run to run. Needs ``valgrind`` (with
``valgrind/callgrind.h``) and a C compiler; OpenAI and Anthropic (the SDKs whose ``request``
tracklm wraps). ~3 min per set-up::

    uv run python benchmarks/bench_instructions.py                  # OpenAI
    uv run python benchmarks/bench_instructions.py --sdk anthropic --streams 20
    PYTHONPATH=$(echo DIR/src DIR/integrations/*/src | tr ' ' :) uv run python \
        benchmarks/bench_instructions.py --setups tracklm   # the tree in DIR (git archive)

``--cache-sim`` has valgrind simulate the caches too (about twice as slow) and adds each
set-up's first-level and last-level cache misses and callgrind's estimate of the cycles they
make: instructions + 10 per first-level miss + 100 per last-level miss (the estimate
``callgrind_annotate`` prints). The code tracklm runs before a stream's first chunk is out of
the first-level caches at each call, after the SDK's millions of instructions in between:
what its instructions do not show.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _floor_hooks import HOOKS
from _sdk_clients import WORKLOADS, canned_once, fake_client

SETUPS = ("bare", "wrapper", "wrapper+decoder", "tracklm")
_TOGGLE_C = "#include <valgrind/callgrind.h>\nvoid toggle(void) { CALLGRIND_TOGGLE_COLLECT; }\n"


def child(sdk: str, setup: str, streams: int, canned: Path, library: Path) -> None:
    import ctypes

    import wrapt

    import tracklm
    from tracklm._run_manager.manager import RunManager

    RunManager.INTERVAL = 3600  # the flusher writes at flush() only: never while counting
    toggle = ctypes.CDLL(str(library)).toggle
    tracklm.set_tracking_uri(tempfile.mkdtemp(prefix="tracklm-bench-instructions-"))
    workload = WORKLOADS[sdk]
    module, cls, method = workload.inside[0]
    owner = getattr(importlib.import_module(module), cls)
    if setup == "tracklm":
        tracklm.autolog(silent=True)
    elif setup != "bare":
        wrapt.wrap_function_wrapper(owner, method, HOOKS[setup])
    client = fake_client(workload, json.loads(canned.read_text())[sdk])
    stream = next(c for c in workload.calls if c.stream)
    for _ in range(20):
        for _ in stream.run(client):
            pass
    tracklm.flush()
    gc.disable()  # collections fall in or out of the counted part by chance: none in it
    for _ in range(streams):
        gc.collect()
        toggle()
        chunks = iter(stream.run(client))
        next(chunks)
        toggle()
        for _ in chunks:
            pass
        tracklm.flush()
        time.sleep(0.01)  # the flusher back to waiting before the next count starts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdk", default="openai", choices=("openai", "anthropic"))
    parser.add_argument("--streams", type=int, default=40)
    parser.add_argument(
        "--setups", default=",".join(SETUPS), help="comma-separated, of those (bare always runs)"
    )
    parser.add_argument("--cache-sim", action="store_true", help="count cache misses too")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        setup, streams, canned, library = args.child
        child(args.sdk, setup, int(streams), Path(canned), Path(library))
        return 0
    missing = [tool for tool in ("valgrind", "cc") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"needs {' and '.join(missing)} (apt-get install valgrind gcc)")
    root = Path(tempfile.mkdtemp(prefix="tracklm-bench-instructions-"))
    try:
        (root / "toggle.c").write_text(_TOGGLE_C)
        library = root / "libtoggle.so"
        subprocess.run(
            ["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(root / "toggle.c")],
            check=True,
        )
        canned = canned_once([args.sdk], root)
        counted: dict[str, dict[str, int]] = {}
        wanted = set(args.setups.split(",")) | {"bare"}
        for setup in [s for s in SETUPS if s in wanted]:
            out = root / f"callgrind.{setup}"
            command = [
                "valgrind", "--tool=callgrind", "--collect-atstart=no",
                f"--cache-sim={'yes' if args.cache_sim else 'no'}",
                f"--callgrind-out-file={out}", sys.executable, str(Path(__file__).resolve()),
                "--sdk", args.sdk, "--child", setup, str(args.streams), str(canned), str(library),
            ]  # fmt: skip
            done = subprocess.run(
                command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}
            )
            found = _events(done.stderr)
            if done.returncode or "I refs" not in found:
                print(done.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{setup}: the counted run failed")
            counted[setup] = found
            print(f"{setup}: {found}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    figures = {setup: _per_stream(found, args.streams) for setup, found in counted.items()}
    columns = list(figures["bare"])
    print(
        f"| {WORKLOADS[args.sdk].title}, call to first chunk, per stream | "
        + " | ".join(f"{c}: bare / added" for c in columns)
        + " | instructions added / bare |"
    )
    print("|---|" + "---|" * (len(columns) + 1))
    bare = figures["bare"]
    for setup, per in figures.items():
        cells = [f"{per[c]:,.0f}" if setup == "bare" else f"{per[c] - bare[c]:+,.0f}"
                 for c in columns]  # fmt: skip
        share = (per["instructions"] - bare["instructions"]) / bare["instructions"]
        print(f"| {setup} | " + " | ".join(cells) + f" | {100 * share:+.2f} % |")
    return 0


def _events(stderr: str) -> dict[str, int]:
    """valgrind's summary counts (``I refs``, ``I1 misses``, ``LL misses``...) by name."""
    found = re.findall(r"==\d+== ([A-Za-z0-9]+\s+(?:refs|misses)):\s+([\d,]+)", stderr)
    return {" ".join(name.split()): int(count.replace(",", "")) for name, count in found}


def _per_stream(found: dict[str, int], streams: int) -> dict[str, float]:
    """Instructions per stream; with the cache simulation, misses and estimated cycles too."""
    per = {"instructions": found["I refs"] / streams}
    if "LL misses" in found:
        first = found["I1 misses"] + found["D1 misses"]
        per["first-level misses"] = first / streams
        per["last-level misses"] = found["LL misses"] / streams
        cycles = found["I refs"] + 10 * first + 100 * found["LL misses"]
        per["estimated cycles"] = cycles / streams
    return per


if __name__ == "__main__":
    sys.exit(main())
