"""The Starlette application: routes, templates, static files and the security headers.

Every route answers GET (and HEAD) only: no page changes the store. Pages are Jinja2 templates
with autoescape on; charts read their data from JSON endpoints (:mod:`tracklm.ui.api`), so no
logged value is ever written into a script.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from tracklm.stores.base import Store
from tracklm.ui import api, pages
from tracklm.ui.formatting import FILTERS
from tracklm.ui.security import SecurityHeaders, allowed_hosts

__all__ = ["create_app"]

HERE: Final = Path(__file__).parent
STATIC_MAX_AGE: Final = 86_400


def create_app(store: Store, host: str = "127.0.0.1") -> Starlette:
    """The web app over ``store``; ``host`` is the address it listens on (requests naming
    another host are refused, which keeps other web sites from reading it through DNS
    rebinding)."""
    app = Starlette(
        routes=[
            Route("/", pages.experiments, methods=["GET"], name="experiments"),
            Route("/experiments/{experiment_id}", pages.runs, methods=["GET"], name="runs"),
            Route("/runs/{run_id}", pages.run, methods=["GET"], name="run"),
            Route("/runs/{run_id}/rows/{number:int}", pages.row, methods=["GET"], name="row"),
            Route(
                "/runs/{run_id}/artifacts/{path:path}",
                pages.artifact,
                methods=["GET"],
                name="artifact",
            ),
            Route("/compare", pages.compare, methods=["GET"], name="compare"),
            Route(
                "/api/runs/{run_id}/metrics/{key:path}",
                api.metric,
                methods=["GET"],
                name="api_metric",
            ),
            Route("/api/compare/metrics/{key:path}", api.compare_metric, methods=["GET"]),
            Mount("/static", _Static(directory=HERE / "static"), name="static"),
        ],
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host)),
            Middleware(SecurityHeaders),
        ],
        exception_handlers={405: _method_not_allowed, HTTPException: pages.error_page},
    )
    app.state.store = store
    app.state.templates = _templates()
    return app


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


class _Static(StaticFiles):
    """The app's own scripts and styles, kept by the browser for a day (the page's first load
    then waits for no request of them)."""

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = f"max-age={STATIC_MAX_AGE}"
        return response


async def _method_not_allowed(request: Request, exc: Any) -> Response:
    return Response(
        "This web app only reads: it answers GET requests.\n",
        status_code=405,
        headers={"Allow": "GET, HEAD"},
        media_type="text/plain",
    )
