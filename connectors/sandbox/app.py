"""The sandbox's ASGI app: one Starlette app serving every provider and the control API.

Routes come from the view modules (``routes()`` each). The Microsoft half (graph.py,
microsoft_oauth.py) is mounted when those modules exist.
"""

from __future__ import annotations

import importlib
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rapportd.connectors.sandbox.state import Sandbox

CORE_MODULES = ("google_oauth", "gmail", "calendar", "batch", "control", "pubsub")
OPTIONAL_MODULES = ("microsoft_oauth", "graph")
log = logging.getLogger(__name__)


def view_routes(names: tuple[str, ...], *, optional: bool) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in names:
        dotted = f"rapportd.connectors.sandbox.{name}"
        try:
            module = importlib.import_module(dotted)
        except ModuleNotFoundError as exc:
            if optional and exc.name == dotted:
                continue
            raise
        if hasattr(module, "routes"):
            routes.extend(module.routes())
    return routes


async def _root(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    with sandbox.lock:
        return JSONResponse(
            {
                "sandbox": "rapportd",
                "now": sandbox.now().isoformat(),
                "accounts": sorted(sandbox.accounts),
            }
        )


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {
            "error": {
                "code": 404,
                "message": f"Not Found: {request.url.path}",
                "status": "NOT_FOUND",
            }
        },
        status_code=404,
    )


def build_app(sandbox: Sandbox) -> Starlette:
    """The app; ``app.state.sandbox`` is the world it serves."""
    routes = view_routes(CORE_MODULES, optional=True)  # optional while the halves land
    routes += view_routes(OPTIONAL_MODULES, optional=True)
    routes.append(Route("/", _root))
    app = Starlette(routes=routes, exception_handlers={404: _not_found})
    app.state.sandbox = sandbox
    return app
