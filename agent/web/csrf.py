"""CSRF protection for every state-changing request.

A signed-in browser has one token per session (``WebSession.csrf_token``). Pages put it in
a hidden ``csrf_token`` field of every form and in ``hx-headers`` (``X-CSRF-Token``) for
htmx; the JSON API takes the header. Before sign-in (the login form, starting an OAuth
sign-in) the token is a random value kept in a signed, HttpOnly "pre-session" cookie and
echoed in the form (double submit), so a forged login is refused too.

:func:`require_csrf` is a dependency on every POST/PUT/PATCH/DELETE route; a test walks the
app's routes to prove that none is missing it.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from rapportd.agent.web.auth import Viewer, optional_viewer

HEADER = "x-csrf-token"
FIELD = "csrf_token"
PRE_COOKIE = "rapportd_pre"
PRE_MAX_AGE = 2 * 3600


def _serializer(request: Request) -> URLSafeTimedSerializer:
    signer: URLSafeTimedSerializer = request.app.state.pre_signer
    return signer


def pre_session_token(request: Request) -> str | None:
    raw = request.cookies.get(PRE_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer(request).loads(raw, max_age=PRE_MAX_AGE)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def ensure_pre_session_token(request: Request, response: Response) -> str:
    """The anonymous form token, set as a cookie when the browser has none yet."""
    token = pre_session_token(request)
    if token is None:
        token = secrets.token_urlsafe(32)
        response.set_cookie(
            PRE_COOKIE,
            _serializer(request).dumps(token),
            max_age=PRE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.app.state.secure_cookies,
            path="/",
        )
    request.state.pre_token = token
    return token


async def require_csrf(request: Request, viewer: Viewer | None = Depends(optional_viewer)) -> None:
    """Refuse (403) a state-changing request without the right token: the session's token
    when signed in, else the pre-session cookie's."""
    given = request.headers.get(HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # starlette caches it for the route
            value = form.get(FIELD)
            given = value if isinstance(value, str) else None
    expected = viewer.csrf_token if viewer is not None else pre_session_token(request)
    if not given or not expected or not hmac.compare_digest(given, expected):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")
