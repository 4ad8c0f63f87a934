"""The web app: review pages, the JSON API, /healthz and /readyz, in one FastAPI app.

``create_app`` takes everything from its arguments (settings, a session factory) and reads
nothing at import time, so tests build as many apps as they like and the daemon mounts
its own routes (``/metrics``, push endpoints) through ``extra_routes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from rapportd.agent import __version__
from rapportd.agent.core.errors import SchemaError
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.db import check_schema
from rapportd.agent.web import accounts, api, briefs, contacts, identity, prefs, signin, views
from rapportd.agent.web.auth import NotSignedIn
from rapportd.agent.web.render import STATIC, CachedStatic, make_templates, render
from rapportd.agent.web.security import SecurityHeaders, signing_key
from rapportd.agent.web.throttle import LoginThrottle


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def create_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    extra_routes: Sequence[BaseRoute] = (),
) -> FastAPI:
    app = FastAPI(
        title="rapportd",
        version=__version__,
        description="Review what rapportd drafted and the holds it suggests. "
        "Session cookie; POST/PUT need the X-CSRF-Token header (from GET /api/me).",
        docs_url=None,  # Swagger UI needs inline scripts; the schema is enough
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    key = signing_key(settings)
    app.state.settings = settings
    app.state.sessions = session_factory
    app.state.session_signer = URLSafeTimedSerializer(key, salt="rapportd.session")
    app.state.pre_signer = URLSafeTimedSerializer(key, salt="rapportd.pre-session")
    app.state.oauth_signer = URLSafeTimedSerializer(key, salt="rapportd.oauth")
    app.state.secure_cookies = settings.base_url.startswith("https://")
    app.state.templates = make_templates()
    app.state.login_throttle = LoginThrottle()

    app.add_middleware(SecurityHeaders, hsts=app.state.secure_cookies)
    app.mount("/static", CachedStatic(directory=str(STATIC)), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        """The process is up."""
        return PlainTextResponse("ok")

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> PlainTextResponse:
        """The database answers and its schema is the one this code needs."""
        try:
            with session_factory() as db:
                db.execute(text("SELECT 1"))
                bind = db.get_bind()
            check_schema(bind.engine)
        except SchemaError as exc:
            return PlainTextResponse(f"schema: {exc}", status_code=503)
        except SQLAlchemyError as exc:
            return PlainTextResponse(f"database: {type(exc).__name__}", status_code=503)
        return PlainTextResponse("ready")

    for router in (
        signin.router,
        views.router,
        contacts.router,
        accounts.router,
        prefs.router,
        identity.router,
    ):
        app.include_router(router)
    app.include_router(api.router)
    app.include_router(briefs.router)  # meeting briefs: GET /api/briefs
    for route in extra_routes:
        app.router.routes.append(route)

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "not signed in"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request) or request.url.path.startswith("/static/"):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        return _error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            errors = [
                {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()
            ]
            return JSONResponse({"detail": errors}, status_code=422)
        return _error_page(request, 422, "Some of what was sent is not valid; go back and retry.")

    return app


def _error_page(request: Request, status_code: int, detail: str) -> Response:
    try:
        title = HTTPStatus(status_code).phrase
    except ValueError:
        title = "Error"
    if status_code == 404:
        detail = "There is nothing here, or it is not yours."
    return render(
        request,
        "error.html",
        {"status_code": status_code, "title": title, "detail": detail},
        status_code=status_code,
    )


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every FastAPI route the app serves, included routers flattened (tests walk it)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included-router contexts
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [
        c.original_route
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute)
    ]
