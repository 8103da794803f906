"""Finding the folder of recorded API responses that tests replay."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FIXTURES_ENV", "find_fixtures_dir"]

FIXTURES_ENV = "TRACKLM_FIXTURES_DIR"


def find_fixtures_dir(start: str | os.PathLike[str]) -> Path | None:
    """The folder of recorded responses (``<provider>/cassettes/*.yaml``), or None.

    ``$TRACKLM_FIXTURES_DIR`` when set; else the first ``fixtures`` or ``shared/fixtures``
    folder found walking up from ``start`` (a test file or folder) - so a checkout with
    ``shared/`` beside it (``../shared/fixtures`` from the repository root, as in CI) finds
    it from any test, however deep.
    """
    given = os.environ.get(FIXTURES_ENV)
    if given:
        return Path(given) if _holds_cassettes(Path(given)) else None
    here = Path(start).resolve()
    for folder in [here, *here.parents] if here.is_dir() else here.parents:
        for candidate in (folder / "fixtures", folder / "shared" / "fixtures"):
            if _holds_cassettes(candidate):
                return candidate
    return None


def _holds_cassettes(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*/cassettes"))
