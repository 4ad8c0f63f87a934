"""Sign-in pages: local owners (argon2 password) and Google / Microsoft via OAuth."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from rapportd.agent.core.logs import get_logger
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Owner
from rapportd.agent.web import oauth_flow
from rapportd.agent.web.auth import (
    Viewer,
    optional_viewer,
    sessions_of,
    sign_in,
    sign_out,
)
from rapportd.agent.web.csrf import ensure_pre_session_token, require_csrf
from rapportd.agent.web.render import render
from rapportd.agent.web.security import verify_password
from rapportd.agent.web.throttle import LoginThrottle, client_address

router = APIRouter(include_in_schema=False)
log = get_logger(__name__)


def safe_next(target: str) -> str:
    """Only local paths (no scheme, no host, no ``//``): no open redirect after sign-in."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/suggestions"


def login_page(
    request: Request,
    *,
    error: str = "",
    email: str = "",
    next_: str = "",
    status_code: int = 200,
    signed_in_as: str = "",
) -> Response:
    holder = Response()
    ensure_pre_session_token(request, holder)
    response = render(
        request,
        "login.html",
        {
            "error": error,
            "email": email,
            "next": safe_next(next_),
            "notice": "",
            "providers": oauth_flow.configured(request.app.state.settings),
            "signed_in_as": signed_in_as,
        },
        status_code=status_code,
    )
    for key, value in holder.headers.items():
        if key == "set-cookie":
            response.headers.append("set-cookie", value)
    return response


@router.get("/login")
def login_form(
    request: Request, next: str = "/suggestions", viewer: Viewer | None = Depends(optional_viewer)
) -> Response:
    if viewer is not None:
        # A browser that already carries a live session (perhaps someone else's, on a shared
        # computer) is never taken into that account without a word: the page says whose
        # session it is and offers to continue or to sign out first.
        return login_page(request, next_=next, signed_in_as=viewer.email)
    return login_page(request, next_=next)


@router.post("/login", dependencies=[Depends(require_csrf)])
def login_submit(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/suggestions",
) -> Response:
    throttle: LoginThrottle = request.app.state.login_throttle
    client = client_address(request)
    wait = throttle.retry_after(client, email)
    if wait:
        response = login_page(
            request,
            error=f"Too many failed sign-ins. Try again in {max(1, round(wait / 60))} min.",
            email=email,
            next_=next,
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        log.warning("login_throttled", client=client, retry_after=wait)
        return response
    with transaction(sessions_of(request)) as db:
        owner = db.scalar(select(Owner).where(func.lower(Owner.email) == email.strip().lower()))
        ok = verify_password(owner.password_hash if owner else None, password)
        owner_id = owner.id if owner is not None else None
    if not ok or owner_id is None:
        throttle.failed(client, email)
        return login_page(
            request, error="Wrong email or password.", email=email, next_=next, status_code=401
        )
    throttle.succeeded(client, email)
    response = RedirectResponse(safe_next(next), status_code=303)
    sign_in(request, response, owner_id)
    return response


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    sign_out(request, response)
    return response


@router.post("/login/{provider}", dependencies=[Depends(require_csrf)])
def login_with_provider(request: Request, provider: str) -> Response:
    return oauth_flow.start(request, provider, "signin", None)
