"""The progress of a migration on a terminal, for the ``tracklm migrate`` command.

On a terminal one line is redrawn in place (``\\r``) at most ten times a second; on anything
else (a log file, CI) a line is written at each tenth of the runs, and at least every
``LINE_EVERY`` seconds while runs are long.
"""

from __future__ import annotations

import time
from typing import TextIO

from tracklm.migrate._report import MigrationReport

__all__ = ["ProgressBar"]


class ProgressBar:
    """A ``progress`` callback for :func:`tracklm.migrate.migrate` that writes to ``stream``."""

    WIDTH = 24
    REDRAW = 0.1
    """Seconds between two redraws on a terminal."""
    LINE_EVERY = 10.0
    """Seconds after which a line is written elsewhere even if no tenth of the runs passed."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._last = 0.0
        self._width = 0  # of the line drawn last on a terminal
        self._tenths = -1  # the last tenth of the runs a line was written for
        self._report: MigrationReport | None = None

    def __call__(self, report: MigrationReport) -> None:
        self._report = report
        now = time.monotonic()
        if self.tty:
            if now - self._last >= self.REDRAW or report.runs_done == report.runs_total:
                self._draw(report)
                self._last = now
            return
        tenths = report.runs_done * 10 // report.runs_total if report.runs_total else 10
        if tenths > self._tenths or now - self._last >= self.LINE_EVERY:
            self._tenths = tenths
            self._last = now
            self.stream.write(f"migrate: {self._text(report)}\n")
            self.stream.flush()

    def close(self) -> None:
        """End the progress line (a terminal's cursor goes to the next line)."""
        if self.tty and self._report is not None:
            self._draw(self._report)
            self.stream.write("\n")
            self.stream.flush()
            self._report = None

    def _draw(self, report: MigrationReport) -> None:
        total = report.runs_total
        filled = self.WIDTH * report.runs_done // total if total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"[{bar}] {self._text(report)}"
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    @staticmethod
    def _text(report: MigrationReport) -> str:
        return (
            f"{report.runs_done:,}/{report.runs_total:,} runs, {report.metrics:,} metric "
            f"values, {report.rows:,} rows, {report.files_copied:,} files"
        )
