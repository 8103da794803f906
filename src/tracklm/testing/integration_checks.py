"""Checks that every autolog integration's tests make, whatever the SDK.

An integration (``tracklm-openai``, ``tracklm-anthropic``, ...) must leave the SDK's calls
untouched, put the SDK back as it was when turned off, and record exactly one row per call
however a stream is left. These helpers hold the SDK-independent half of those checks; a
test gives the SDK-specific half (how to make the calls) as a function::

    from tracklm.testing.integration_checks import assert_wire_identical

    def test_the_wire_is_untouched(server):
        def send() -> int:
            client(server).chat.completions.create(model="m", messages=...)
            return 1  # how many requests it sent

        assert_wire_identical(server, send)

They expect tracklm logging into a store of the test's own (see
:func:`~tracklm.testing.isolated_tracklm`) and use ``assert``, so that pytest shows what
differed.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import wrapt

from ._predictions import prediction, predictions
from ._requests import RecordedRequest
from ._server import LLMServer

__all__ = [
    "LEAVE_UNFINISHED",
    "PER_REQUEST_HEADERS",
    "assert_disable_restores_originals",
    "assert_not_stored",
    "assert_wire_identical",
    "break_after_one",
    "dropped_stream_row",
    "left_and_closed_stream_rows",
    "never_iterate",
    "run_in_new_interpreter",
]

S = TypeVar("S")

PER_REQUEST_HEADERS = frozenset({"idempotency-key", "x-stainless-retry-count"})
"""Headers the Stainless-built SDKs (``openai``, ``anthropic``) may change from one send of a
call to the next, with or without tracklm."""


def _take(server: LLMServer, calls: int) -> list[RecordedRequest]:
    sent = server.requests
    assert len(sent) == calls
    server.clear()
    return sent


def assert_wire_identical(
    server: LLMServer, send: Callable[[], int], *, may_vary: Iterable[str] = ()
) -> list[RecordedRequest]:
    """Check that autolog changes no byte of the requests that ``send`` makes.

    ``send()`` makes its calls to ``server`` (queueing their answers if it needs to) and
    returns how many requests they send. It runs three times: twice with autolog off, which
    tells the headers that vary from one send to the next (they must be among ``may_vary``),
    then with autolog on inside a run, which must record one row per request. Every request
    of the last send must equal the first send's in method, path, query and body, carry the
    same header names, and the same values but for the varying headers.

    Returns the requests of the logged send (for checks of the SDK's own)."""
    import tracklm

    tracklm.autolog(disable=True)
    calls = send()
    bare = _take(server, calls)
    send()
    again = _take(server, calls)
    varying = {
        k for a, b in zip(bare, again, strict=True) for k in a.headers if a.header(k) != b.header(k)
    }
    assert varying <= set(may_vary)

    tracklm.autolog()
    with tracklm.start_run() as run:
        send()
    logged = _take(server, calls)

    assert len(predictions(run)) == calls
    for plain, seen in zip(bare, logged, strict=True):
        assert (seen.method, seen.path, seen.query, seen.body) == (
            plain.method,
            plain.path,
            plain.query,
            plain.body,
        )
        assert set(seen.headers) == set(plain.headers)
        assert {k: v for k, v in seen.headers.items() if k not in varying} == {
            k: v for k, v in plain.headers.items() if k not in varying
        }
    return logged


def assert_disable_restores_originals(
    patched: Sequence[tuple[type, str]], call: Callable[[str], object]
) -> dict[str, Any]:
    """Check that autolog wraps each ``(class, attribute)`` of ``patched`` once (however
    often it is turned on) and that ``autolog(disable=True)`` puts back the SDK's own function
    objects and records nothing more.

    ``call(text)`` makes one call of the SDK with ``text`` as its prompt: with autolog off
    (``"not recorded"``) the run must get no metrics; after autolog is on again
    (``"recorded"``), the run's only row is returned."""
    import tracklm

    tracklm.autolog(disable=True)
    originals = {(cls, name): cls.__dict__[name] for cls, name in patched}
    assert not any(isinstance(f, wrapt.ObjectProxy) for f in originals.values())

    tracklm.autolog()
    tracklm.autolog()  # again: replaces the options, never wraps twice
    for (cls, name), original in originals.items():
        wrapper = cls.__dict__[name]
        assert isinstance(wrapper, wrapt.FunctionWrapper)
        assert wrapper.__wrapped__ is original

    tracklm.autolog(disable=True)
    for (cls, name), original in originals.items():
        assert cls.__dict__[name] is original
    with tracklm.start_run() as run:
        call("not recorded")
    assert tracklm.flush(timeout=30).ok
    assert tracklm.get_run(run.info.run_id).data.metrics == {}

    tracklm.autolog()
    with tracklm.start_run() as run:
        call("recorded")
    return prediction(run)


def run_in_new_interpreter(script: str, store: Path, journal: Path, *args: str) -> str:
    """Run ``script`` in a new Python (``sys.argv[1]`` is ``store``, ``args`` follow), with
    tracklm strict, journaling into ``journal`` and autolog not disabled by the environment;
    it must succeed, and the last line it printed (a run id, say) is returned. For checking
    that ``tracklm.autolog()`` called before the SDK is imported still records its calls, or
    anything that the imports and caches of the test process would hide."""
    env = {**os.environ, "TRACKLM_STRICT": "1", "TRACKLM_JOURNAL_DIR": str(journal)}
    env.pop("TRACKLM_AUTOLOG_DISABLED", None)
    done = subprocess.run(
        [sys.executable, "-c", script, str(store), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def break_after_one(stream: Any) -> None:
    """Leave a stream after its first item."""
    for _ in stream:
        break


def never_iterate(stream: Any) -> None:
    """Leave a stream before its first item."""


LEAVE_UNFINISHED: tuple[Callable[[Any], None], ...] = (break_after_one, never_iterate)
"""The ways :func:`dropped_stream_row` tests leave a stream, for ``pytest.mark.parametrize``."""


def dropped_stream_row(open_stream: Callable[[], S], leave: Callable[[S], None]) -> dict[str, Any]:
    """Open a stream inside a new run, ``leave(stream)`` it unfinished, drop it and collect the
    garbage; check that the run has exactly one row, a stream with status ``"ok"``, and return
    it. ``open_stream()`` must keep no reference to what it returns."""
    import tracklm

    with tracklm.start_run() as run:
        stream = open_stream()
        leave(stream)
        gone = _gone_check(stream)
        del stream
        gc.collect()
        # gc.collect() returns at once, collecting nothing, while another thread is collecting
        # (tracklm's flusher may be): collect again until the stream is gone, for a while
        deadline = time.monotonic() + 5
        while not gone() and time.monotonic() < deadline:
            time.sleep(0.001)
            gc.collect()

    got = prediction(run)
    assert (got["stream"], got["status"]) == (True, "ok")
    return got


def _gone_check(stream: object) -> Callable[[], bool]:
    """Whether ``stream`` has been freed yet (always True for a type without weak references,
    which a single collection then has to free)."""
    try:
        ref = weakref.ref(stream)
    except TypeError:
        return lambda: True
    return lambda: ref() is None


def left_and_closed_stream_rows(
    open_stream: Callable[[], Any], read: Callable[[Any], None]
) -> list[dict[str, Any]]:
    """Inside a new run, read part of a stream (``read(stream)``) left by its ``with`` block and
    of another then ``close()``d: both must be recorded at once, while still referenced, and
    their HTTP responses closed; collecting them later adds no row. Returns the two rows."""
    import tracklm

    with tracklm.start_run() as run:
        with open_stream() as left:
            read(left)
        closed = open_stream()
        read(closed)
        closed.close()
        found = predictions(run)  # both streams are still referenced: no garbage collection needed

    assert len(found) == 2
    assert left.response.is_closed
    assert closed.response.is_closed
    del left, closed
    gc.collect()
    assert len(predictions(run)) == 2
    return found


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def assert_not_stored(secrets: Iterable[str], *folders: Path) -> None:
    """After everything logged is written, check that ``folders`` (a store, a journal) hold a
    table (a ``.db`` or ``.csv`` file) and that none of their files contains any of
    ``secrets`` (API keys, access tokens)."""
    import tracklm

    assert tracklm.flush(timeout=30).ok
    files = [f for folder in folders for f in _files(folder)]
    assert any(f.name.endswith((".db", ".csv")) for f in files)
    wanted = [s.encode() for s in secrets]
    leaked = [f for f in files if any(s in f.read_bytes() for s in wanted)]
    assert leaked == []
