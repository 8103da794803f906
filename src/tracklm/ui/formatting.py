"""How values look on a page: times, durations, numbers, cells cut short, JSON laid out.

Each function returns plain text; the templates escape it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Final

__all__ = ["FILTERS", "cell", "duration", "number", "pretty", "timestamp"]

PREVIEW_CHARS: Final = 160


def timestamp(ms: int | None) -> str:
    """Milliseconds since the epoch as UTC date and time."""
    if ms is None:
        return ""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def duration(ms: int | float | None) -> str:
    """A span of milliseconds for people: ``840 ms``, ``12.3 s``, ``4 min 5 s``, ``2 h 3 min``."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def number(value: Any) -> str:
    """Numbers readably: thousands separated, floats to 6 significant digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e9 or abs(value) < 1e-4):
        return f"{value:.6g}"
    return f"{value:,.6g}" if abs(value) >= 1000 else f"{value:.6g}"


def cell(value: Any, width: int = PREVIEW_CHARS) -> str:
    """A table cell on one line, cut to ``width`` characters."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = number(value)
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def pretty(value: Any) -> str:
    """A value as text to read: JSON (or text holding JSON) indented, other text as it is."""
    if isinstance(value, str):
        parsed = parse_json(value)
        if parsed is None or not isinstance(parsed, (dict, list)):
            return value
        value = parsed
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return number(value) if isinstance(value, (int, float)) else str(value)


def parse_json(text: str) -> Any:
    """``text`` parsed as JSON when it looks like an object or a list, else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


FILTERS: Final[dict[str, Callable[..., str]]] = {
    "timestamp": timestamp,
    "duration": duration,
    "number": number,
    "cell": cell,
    "pretty": pretty,
}
"""The Jinja2 filters the templates use."""
