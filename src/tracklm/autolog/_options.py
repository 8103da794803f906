"""The options ``tracklm.autolog()`` was called with; None while autolog is off."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracklm.autolog._call_record import CallRecord


@dataclass(frozen=True)
class AutologOptions:
    log_inputs: bool = True
    log_outputs: bool = True
    redact: Callable[[CallRecord], CallRecord | None] | None = None
    max_text_chars: int | None = 100_000
    silent: bool = False


current: AutologOptions | None = None
