"""The parametrized models the ``messages.stream()`` helpers build on every stream, held here so
that garbage collection does not make pydantic build them again.

In current releases the helpers' ``accumulate_event`` (``anthropic.lib.streaming._messages``
and ``._beta_messages``) starts each stream's message snapshot with
``cast(ParsedMessage[ResponseFormatT], ParsedMessage.construct(...))`` (``ParsedBetaMessage``
for ``beta.messages``): the cast's first argument is evaluated at run time, and its
``ResponseFormatT`` is the TypeVar of ``anthropic.lib._parse._response``, not the class's own,
so pydantic makes a new class (with a ``ParsedTextBlock[ResponseFormatT]`` for its content)
that it caches only weakly (a ``WeakValueDictionary``) and nothing else keeps. The next garbage
collection frees it and the next stream builds it again: ~1.7 ms of schema building on the
caller's thread, before its first text. tracklm's background thread allocates, so collections
fall between streams far more often under autolog (the class was built again for 159 of 200
streams, against none without). A strong reference makes pydantic's cache answer every time;
building the classes here, when the SDK is patched (~20 ms, ~70 ms for the beta one), also
takes that first build off the first stream's time to first chunk.

Releases without these helpers or models (before structured outputs) have nothing to hold.
"""

from __future__ import annotations

import importlib
from typing import Any, Final, TypeVar

# module -> the generic model its accumulate_event parametrizes with the module's ResponseFormatT
_HELPERS: Final = (
    ("anthropic.lib.streaming._messages", "ParsedMessage"),
    ("anthropic.lib.streaming._beta_messages", "ParsedBetaMessage"),
)
_TYPEVAR: Final = "ResponseFormatT"

_held: list[Any] = []
"""The parametrized classes, referenced for as long as the process lives."""


def hold() -> None:
    """Build (or find in pydantic's cache) and keep the helpers' parametrized models.

    Never raises: a release where this does not apply keeps the SDK's own behaviour."""
    for module_name, model_name in _HELPERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        model = getattr(module, model_name, None)
        typevar = getattr(module, _TYPEVAR, None)
        if not (isinstance(model, type) and isinstance(typevar, TypeVar)):
            continue
        try:
            parametrized = model[typevar]  # type: ignore[index]
        except Exception:  # not a generic model of this shape: nothing to hold
            continue
        if parametrized is not model and parametrized not in _held:
            _held.append(parametrized)
