"""Rendering pages: one Jinja environment, and the context every page needs (the viewer,
the CSRF token for forms and htmx, the navigation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from rapportd.agent import __version__

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

NAV = [
    ("suggestions", "/suggestions", "Suggestions"),
    ("contacts", "/contacts", "Contacts"),
    ("accounts", "/accounts", "Accounts"),
    ("settings", "/settings", "Settings"),
]


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    # no blank lines left by template tags in what is sent
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    templates.env.globals["nav"] = NAV
    templates.env.globals["version"] = __version__
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
