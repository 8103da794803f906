"""What the installed pandas reads back from a CSV file, for the tests that read tables with
it: pandas 3, or pandas 2 where Python 3.10 installs it."""

from __future__ import annotations

from typing import Any

import pandas as pd

_PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3

READS_NUL = _PANDAS_3
"""pandas 2 ends a CSV cell at a NUL character, whatever the file holds (its C parser's limit;
its Python parser refuses the file)."""

EXACT_FLOATS: dict[str, Any] = {} if _PANDAS_3 else {"float_precision": "round_trip"}
"""``read_csv`` arguments that read a float back from its shortest text exactly (pandas 3's
default; pandas 2's default parser may be off by one unit in the last place)."""
