"""Installing the wrappers on an SDK's methods, and taking them off again.

Targets are wrapped with wrapt: at once when the SDK is imported already, else from a
post-import hook (wrapt's import finder; ``builtins.__import__`` is never replaced). The
original function objects are kept, so undoing puts back exactly what was there.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any

import wrapt

from tracklm._log_once import log_once
from tracklm.autolog import _wrapper
from tracklm.autolog._discovery import sdk_version_ok
from tracklm.integration import Integration

logger = logging.getLogger("tracklm.autolog")

# (module, attribute) -> (owner object, attribute name, original value)
_installed: dict[tuple[str, str], tuple[Any, str, Any]] = {}
_hooked: set[str] = set()
_wanted: dict[str, Integration] = {}  # integrations to patch (when their SDK is imported)
_lock = threading.RLock()


def enable(integrations: dict[str, Integration]) -> None:
    """Patch these integrations' SDKs now or when they are imported; unpatch the others."""
    with _lock:
        for name in list(_wanted):
            if name not in integrations:
                _unpatch(name)
                del _wanted[name]
        for name, integration in integrations.items():
            _wanted[name] = integration
            if name not in _hooked:
                _hooked.add(name)
                # called at once if the SDK is imported already, else right after its import
                wrapt.register_post_import_hook(_hook_for(name), integration.package)
            elif _imported(integration.package):
                _patch(name, integration)


def disable() -> None:
    """Put back every original method."""
    with _lock:
        for name in list(_wanted):
            _unpatch(name)
        _wanted.clear()


def patched_names() -> list[str]:
    return sorted({key[0] for key in _installed})


def _hook_for(name: str) -> Any:
    def on_import(_module: object) -> None:
        with _lock:
            integration = _wanted.get(name)
            if integration is not None:
                _patch(name, integration)

    return on_import


def _imported(package: str) -> bool:
    import sys

    return package in sys.modules


def _patch(name: str, integration: Integration) -> None:
    if not sdk_version_ok(integration):
        return
    try:
        targets = integration.targets()
    except Exception as exc:
        log_once(logger, f"tracklm could not list the {name} integration's targets", exc)
        return
    for target in targets:
        key = (target.module, target.attribute)
        if key in _installed:
            continue
        try:
            module = importlib.import_module(target.module)
            owner_path, _, attribute = target.attribute.rpartition(".")
            owner: Any = module
            for part in filter(None, owner_path.split(".")):
                owner = getattr(owner, part)
            original = (
                vars(owner)[attribute] if isinstance(owner, type) else getattr(owner, attribute)
            )
            wrapper = _wrapper.make(name, target, original)
            setattr(owner, attribute, wrapt.FunctionWrapper(original, wrapper))
            _installed[key] = (owner, attribute, original)
        except Exception as exc:
            log_once(logger, f"tracklm could not wrap {target.module}.{target.attribute}", exc)


def _unpatch(name: str) -> None:
    integration = _wanted.get(name)
    if integration is None:
        return
    for key, (owner, attribute, original) in list(_installed.items()):
        if _belongs(key[0], integration.package):
            setattr(owner, attribute, original)
            del _installed[key]


def _belongs(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")
