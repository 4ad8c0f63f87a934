"""Rendering pages: one Jinja environment, and the context every page needs (the viewer,
the CSRF token for forms and htmx, the navigation)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response
from starlette.types import Scope

from rapportd.agent import __version__

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

NAV = [
    ("suggestions", "/suggestions", "Suggestions"),
    ("contacts", "/contacts", "Contacts"),
    ("accounts", "/accounts", "Accounts"),
    ("settings", "/settings", "Settings"),
]


def _fingerprints() -> dict[str, str]:
    """A short hash of each static file: its URL changes when its content does."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12]
        for p in STATIC.iterdir()
        if p.is_file()
    }


class CachedStatic(StaticFiles):
    """The static files; a URL carrying the file's fingerprint (``?v=``) never changes, so the
    browser keeps it (a page then draws without asking for its CSS and scripts again)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if b"v=" in scope.get("query_string", b"") and response.status_code == 200:
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    # no blank lines left by template tags in what is sent
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    templates.env.globals["nav"] = NAV
    templates.env.globals["version"] = __version__
    prints = _fingerprints()
    templates.env.globals["asset"] = lambda name: f"/static/{name}?v={prints.get(name, '0')}"
    return templates


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    active: str = "",
) -> HTMLResponse:
    from rapportd.agent.web.auth import optional_viewer

    viewer = optional_viewer(request)
    ctx: dict[str, Any] = {
        "viewer": viewer,
        "csrf_token": viewer.csrf_token
        if viewer is not None
        else getattr(request.state, "pre_token", ""),
        "active": active,
    }
    ctx.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers["cache-control"] = "no-store"
    return response
