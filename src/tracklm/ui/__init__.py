"""``tracklm ui``: a local, read-only web app over any store tracklm can read.

::

    tracklm ui                                   # the default store, at http://127.0.0.1:5731/
    tracklm --tracking-uri postgresql://... ui --port 8080

It shows experiments with their run counts; an experiment's runs as a sortable table filtered
with ``search_runs``' grammar; a run's params, tags, metrics (a chart each, over steps or over
time), artifacts and predictions table (paged, searched and filtered in the store's queries, a
row opened as a conversation); and 2 to 5 runs compared (params side by side, metrics on one
chart, the same prompt's outputs next to each other).

Needs the ``ui`` extra: ``pip install 'tracklm[ui]'`` (Starlette, Jinja2, uvicorn). In Python::

    from tracklm.stores import open_store
    from tracklm.ui import UIServer

    server = UIServer(open_store("tracklm-runs"), port=5731)
    server.run()                                 # until Ctrl+C

Everything logged is shown as text: no logged value can run a script in the page. No page
changes the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from tracklm._errors import TracklmError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from tracklm.stores.base import Store
    from tracklm.ui.server import UIServer

__all__ = ["INSTALL_HINT", "UIServer", "UIUnavailable", "create_app"]

INSTALL_HINT: Final = "pip install 'tracklm[ui]'"


class UIUnavailable(TracklmError):
    """The web app cannot start: its dependencies are missing, or its address is taken."""


def create_app(store: Store) -> Starlette:
    """The web app (an ASGI application) over ``store``."""
    _require_dependencies()
    from tracklm.ui.app import create_app as create

    return create(store)


def __getattr__(name: str) -> object:
    if name == "UIServer":
        _require_dependencies()
        from tracklm.ui.server import UIServer

        return UIServer
    raise AttributeError(f"module 'tracklm.ui' has no attribute {name!r}")


def _require_dependencies() -> None:
    missing = []
    for module in ("starlette", "jinja2", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise UIUnavailable(
            f"tracklm ui needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'}"
            f" not installed: {INSTALL_HINT}"
        )
