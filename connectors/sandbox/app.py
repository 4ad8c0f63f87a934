"""The sandbox's ASGI app: one Starlette app serving every provider and the control API.

Routes come from the view modules (``routes()`` each).
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rapportd.connectors.sandbox import (
    batch,
    calendar,
    control,
    gmail,
    google_oauth,
    graph,
    microsoft_oauth,
    pubsub,
)
from rapportd.connectors.sandbox.state import Sandbox

VIEWS = (google_oauth, gmail, calendar, batch, control, pubsub, microsoft_oauth, graph)
log = logging.getLogger(__name__)


def view_routes() -> list[BaseRoute]:
    return [route for view in VIEWS for route in view.routes()]


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
    routes = view_routes()
    routes.append(Route("/", _root))
    app = Starlette(routes=routes, exception_handlers={404: _not_found})
    app.state.sandbox = sandbox
    return app
