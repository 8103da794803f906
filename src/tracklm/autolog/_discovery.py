"""Finding integrations: the entry-point group ``tracklm.integrations``.

An integration registers its class under the group; the entry-point name is the name users
give to ``include`` / ``exclude``. Loading one imports only the integration's module, never
its SDK; an integration whose SDK is not installed, or installed in a release outside its
``supported`` range, is skipped with a log line.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
from typing import Final

from tracklm._log_once import log_once
from tracklm.integration import Integration

logger = logging.getLogger("tracklm.autolog")

GROUP: Final = "tracklm.integrations"


def discover() -> dict[str, Integration]:
    """Every registered integration, by name (broken ones are skipped and logged)."""
    found: dict[str, Integration] = {}
    for entry_point in importlib.metadata.entry_points(group=GROUP):
        try:
            cls = entry_point.load()
            found[entry_point.name] = cls()
        except Exception as exc:
            log_once(logger, f"tracklm could not load the integration {entry_point.name!r}", exc)
    return found


def sdk_version_ok(integration: Integration) -> bool:
    """True when the SDK is installed in a release the integration supports."""
    distribution = integration.distribution or integration.package
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return True  # vendored or renamed: let patching find out
    if not integration.supported or version_matches(version, integration.supported):
        return True
    log_once(
        logger,
        f"tracklm's {integration.name} integration supports {distribution} "
        f"{integration.supported}, not {version}; calls through it are not recorded",
    )
    return False


_RELEASE = re.compile(r"\d+(?:\.\d+)*")
_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*([\d.]+)\s*")


def _release(text: str) -> tuple[int, ...]:
    match = _RELEASE.match(text)
    return tuple(int(p) for p in match.group().split(".")) if match else ()


def version_matches(version: str, specifier: str) -> bool:
    """Check a version against a comma-separated specifier of release numbers (``>=1.40,<4``)."""
    have = _release(version)
    for clause in specifier.split(","):
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            raise ValueError(f"unsupported version specifier {clause!r}")
        op, want_text = match.groups()
        want = _release(want_text)
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        ok = {">=": a >= b, "<=": a <= b, "==": a == b, "!=": a != b, ">": a > b, "<": a < b}
        if not ok[op]:
            return False
    return True
