"""Counting the Python bytecode instructions a piece of code runs, by whose code they are.

Wall-clock figures on a shared 2-core VM move by several microseconds from one minute to
the next; the number of bytecode instructions the caller's thread runs does not. It leaves
out what C code does (allocation, the SDK's pydantic-core parsing, wrapt's C wrapper), so it
is a proxy for time, and a deterministic one: the same code and the same call give the same
count on any machine.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any


class OpcodeCounter:
    """Counts the bytecode instructions run on this thread while :meth:`counting`, split
    between code under ``ours`` (folders) and everyone else's."""

    def __init__(self, ours: Iterable[Path]) -> None:
        self._ours = tuple(str(p.resolve()) for p in ours)
        self._owner: dict[str, bool] = {}  # code file -> is it ours
        self.counts: Counter[bool] = Counter()

    def _is_ours(self, filename: str) -> bool:
        owner = self._owner.get(filename)
        if owner is None:
            owner = self._owner[filename] = filename.startswith(self._ours)
        return owner

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            self.counts[self._is_ours(frame.f_code.co_filename)] += 1
        return self._trace

    def count(self, fn: Callable[[], Any]) -> tuple[int, int, Any]:
        """Run ``fn``; (our instructions, everyone else's, what ``fn`` returned)."""
        self.counts.clear()
        sys.settrace(self._trace)
        try:
            value = fn()
        finally:
            sys.settrace(None)
        return self.counts[True], self.counts[False], value
