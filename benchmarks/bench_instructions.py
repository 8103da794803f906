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
        counted: dict[str, int] = {}
        wanted = set(args.setups.split(",")) | {"bare"}
        for setup in [s for s in SETUPS if s in wanted]:
            out = root / f"callgrind.{setup}"
            command = [
                "valgrind", "--tool=callgrind", "--collect-atstart=no",
                f"--callgrind-out-file={out}", sys.executable, str(Path(__file__).resolve()),
                "--sdk", args.sdk, "--child", setup, str(args.streams), str(canned), str(library),
            ]  # fmt: skip
            done = subprocess.run(
                command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}
            )
            found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
            if done.returncode or found is None:
                print(done.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{setup}: the counted run failed")
            counted[setup] = int(found.group(1).replace(",", ""))
            print(f"{setup}: {counted[setup]:,} instructions", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    bare = counted["bare"] / args.streams
    print(f"| {WORKLOADS[args.sdk].title}, call to first chunk | instructions per stream "
          "| added to bare | added / bare |")  # fmt: skip
    print("|---|---|---|---|")
    for setup in counted:
        per = counted[setup] / args.streams
        added = per - bare
        print(f"| {setup} | {per:,.0f} | {added:+,.0f} | {100 * added / bare:+.2f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
