"""What a migration found and copied: the report handed to ``progress`` and returned."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["MigrationReport"]


@dataclass
class MigrationReport:
    """Counts of what a migration copied, and of what the destination held already.

    The same object is handed to the ``progress`` callback as the migration goes (its
    counts growing) and returned at the end. Counts are of what was written in this
    migration: run it again and every count of copied things is 0.
    """

    source: str
    """The source's URI, any password masked."""
    destination: str
    """The destination's URI, any password masked."""
    experiments: int = 0
    """Experiments in the source."""
    experiments_created: int = 0
    """Of those, experiments the destination did not have (matched by name)."""
    runs_total: int = 0
    """Runs in the source when the migration started."""
    runs_done: int = 0
    """Runs compared with the destination and brought up to date so far."""
    runs_created: int = 0
    runs_updated: int = 0
    """Runs the destination had, to which something new was copied."""
    params: int = 0
    tags: int = 0
    metrics: int = 0
    """Metric values (each step of each metric's history)."""
    rows: int = 0
    """Table rows."""
    files_copied: int = 0
    bytes_copied: int = 0
    files_present: int = 0
    """Artifact files the destination held already with the same size."""
    skipped: list[str] = field(default_factory=list)
    """What was not copied, and why (a run whose id another experiment's run has in the
    destination, a file the destination refused)."""
    seconds: float = 0.0
    current_run: str | None = None
    """The run being copied (None between runs and at the end)."""

    @property
    def copied_anything(self) -> bool:
        """Whether this migration wrote anything to the destination."""
        return bool(
            self.experiments_created
            or self.runs_created
            or self.runs_updated
            or self.params
            or self.tags
            or self.metrics
            or self.rows
            or self.files_copied
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as plain values, for JSON."""
        data = asdict(self)
        data.pop("current_run")
        return data

    def summary(self) -> str:
        """The report for people: a few aligned lines."""
        unchanged = self.runs_done - self.runs_created - self.runs_updated
        lines = [
            f"Migrated {self.source}",
            f"      to {self.destination} in {self.seconds:.1f} s",
            f"  experiments  {self.experiments:,} ({self.experiments_created:,} new, "
            f"{self.experiments - self.experiments_created:,} already there)",
            f"  runs         {self.runs_done:,} ({self.runs_created:,} new, "
            f"{self.runs_updated:,} updated, {unchanged:,} already there)",
            f"  metrics      {self.metrics:,} values",
            f"  params/tags  {self.params:,} / {self.tags:,}",
            f"  table rows   {self.rows:,}",
            f"  files        {self.files_copied:,} copied ({_size(self.bytes_copied)}), "
            f"{self.files_present:,} already there",
        ]
        if self.skipped:
            lines.append(f"  not copied   {len(self.skipped):,}:")
            lines.extend(f"    {reason}" for reason in self.skipped)
        if not self.copied_anything:
            lines.append("Nothing new to copy: the destination holds everything the source has.")
        return "\n".join(lines)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
