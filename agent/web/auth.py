"""Who is asking: signed session cookies backed by ``WebSession`` rows.

The cookie carries only a random session id, signed with itsdangerous (HttpOnly,
SameSite=Lax so the OAuth redirect back still carries it, Secure behind https). The row
holds the owner, the session's CSRF token, its expiry and whether it was revoked.
Sign-in always makes a new id (no session fixation); logout revokes the row, so a copied
cookie stops working at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Owner, WebSession

COOKIE = "rapportd_session"
SESSION_DAYS = 14


@dataclass(frozen=True)
class Viewer:
    """The signed-in owner of this request."""

    owner_id: int
    email: str
    display_name: str
    timezone: str
    session_id: str
    csrf_token: str


class NotSignedIn(Exception):
    """Raised by :func:`require_viewer`; pages redirect to /login, the API answers 401."""


def sessions_of(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def _signer(request: Request) -> URLSafeTimedSerializer:
    signer: URLSafeTimedSerializer = request.app.state.session_signer
    return signer


def session_id_from_cookie(request: Request) -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = _signer(request).loads(raw, max_age=SESSION_DAYS * 86400)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def optional_viewer(request: Request) -> Viewer | None:
    """The viewer, or None; looked up once per request."""
    if hasattr(request.state, "viewer"):
        cached: Viewer | None = request.state.viewer
        return cached
    viewer = None
    sid = session_id_from_cookie(request)
    if sid is not None:
        with transaction(sessions_of(request)) as db:
            ws = db.get(WebSession, sid)
            if ws is not None and not ws.revoked and ws.expires_at > clock.now():
                owner = db.get(Owner, ws.owner_id)
                if owner is not None:
                    viewer = Viewer(
                        owner_id=owner.id,
                        email=owner.email,
                        display_name=owner.display_name or owner.email,
                        timezone=owner.timezone or "UTC",
                        session_id=ws.id,
                        csrf_token=ws.csrf_token,
                    )
    request.state.viewer = viewer
    return viewer


def require_viewer(viewer: Viewer | None = Depends(optional_viewer)) -> Viewer:
    if viewer is None:
        raise NotSignedIn()
    return viewer


def begin_session(db: Session, owner_id: int, *, now: datetime | None = None) -> WebSession:
    """A brand-new session row (fresh id and CSRF token) for a successful sign-in."""
    now = now or clock.now()
    ws = WebSession(
        id=secrets.token_urlsafe(32),
        owner_id=owner_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(days=SESSION_DAYS),
    )
    db.add(ws)
    db.flush()
    return ws


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        _signer(request).dumps(session_id),
        max_age=SESSION_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
        path="/",
    )


def sign_in(request: Request, response: Response, owner_id: int) -> WebSession:
    """Revoke the browser's previous session (if any) and start a new one."""
    old = session_id_from_cookie(request)
    with transaction(sessions_of(request)) as db:
        if old is not None:
            previous = db.get(WebSession, old)
            if previous is not None:
                previous.revoked = True
        ws = begin_session(db, owner_id)
    set_session_cookie(request, response, ws.id)
    return ws


def sign_out(request: Request, response: Response) -> None:
    sid = session_id_from_cookie(request)
    if sid is not None:
        with transaction(sessions_of(request)) as db:
            ws = db.get(WebSession, sid)
            if ws is not None:
                ws.revoked = True
    response.delete_cookie(COOKIE, path="/")
