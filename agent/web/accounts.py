"""Accounts: connect Google / Microsoft, and see each account's health: status, last sync,
"last verified complete", quota spent, and the errors that need the person (re-consent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from rapportd.agent.core import clock
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, PushSubscription
from rapportd.agent.store.sync_status import unfinished_streams, waiting_text
from rapportd.agent.web import oauth_flow, queries
from rapportd.agent.web.auth import Viewer, optional_viewer, require_viewer, sessions_of
from rapportd.agent.web.csrf import require_csrf
from rapportd.agent.web.presenters import when
from rapportd.agent.web.render import render

router = APIRouter(include_in_schema=False)

STATUS_TEXT = {
    "ok": "working",
    "needs_reconsent": "needs you: connect it again",
    "error": "failing; rapportd keeps retrying",
    "disabled": "switched off",
}


@dataclass
class AccountView:
    id: int
    provider: str
    address: str
    status: str
    status_text: str
    needs_person: bool
    last_sync: str
    last_verified: str
    requests_24h: int
    quota_24h: int
    last_error: str
    status_reason: str
    push: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)
    # "waiting for Gmail to finish (retrying: …)" until every stream finished its backfill
    waiting: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def account_views(
    db: Session,
    owner_id: int,
    tz: str,
    rows: list[Account],
    *,
    now: datetime,
    window_days: int = 0,
) -> list[AccountView]:
    """``window_days``: the recent window synced first (``sync.recent_window_days``)."""
    spent = queries.quota_spent(db, owner_id, now=now)
    out = []
    for a in rows:
        requests, units = spent.get(a.id, (0, 0))
        out.append(
            AccountView(
                id=a.id,
                provider="Google" if a.provider == "google" else "Microsoft",
                address=a.address,
                status=a.status,
                status_text=STATUS_TEXT.get(a.status, a.status),
                needs_person=a.status == "needs_reconsent",
                last_sync=when(a.last_sync_at, tz) or "never",
                last_verified=when(a.last_verified_complete_at, tz) or "not yet",
                requests_24h=requests,
                quota_24h=units,
                last_error=a.last_error,
                status_reason=a.status_reason,
                push=push_text(queries.push_channels(db, owner_id, a.id), tz),
                errors=[
                    {"at": when(r.started_at, tz), "stream": r.stream, "error": r.error}
                    for r in queries.last_sync_errors(db, owner_id, a.id)
                ],
                waiting=waiting_text(
                    unfinished_streams(db, owner_id, account_id=a.id), window_days=window_days
                ),
            )
        )
    return out


def push_text(channels: list[PushSubscription], tz: str) -> str:
    """ "on (…)" with the soonest renewal, or how rapportd finds news without push."""
    if not channels:
        return "off: rapportd checks for news on a schedule"
    soonest = min((c.expires_at for c in channels if c.expires_at), default=None)
    count = f"{len(channels)} channel{'s' if len(channels) != 1 else ''}"
    return f"on ({count}; renewed before {when(soonest, tz)})" if soonest else f"on ({count})"


@router.get("/accounts")
def accounts_page(
    request: Request, connected: int = 0, viewer: Viewer = Depends(require_viewer)
) -> Response:
    now = clock.now()
    with transaction(sessions_of(request)) as db:
        views = account_views(
            db,
            viewer.owner_id,
            viewer.timezone,
            queries.accounts_of(db, viewer.owner_id),
            now=now,
            window_days=request.app.state.settings.sync.recent_window_days,
        )
    return render(
        request,
        "accounts.html",
        {
            "accounts": views,
            "providers": oauth_flow.configured(request.app.state.settings),
            "notice": "Account connected; its first sync starts shortly." if connected else "",
        },
        active="accounts",
    )


@router.get("/accounts/{account_id}")
def account_page(
    request: Request, account_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    now = clock.now()
    with transaction(sessions_of(request)) as db:
        row = queries.owned(db, Account, viewer.owner_id, account_id)
        view = account_views(
            db,
            viewer.owner_id,
            viewer.timezone,
            [row],
            now=now,
            window_days=request.app.state.settings.sync.recent_window_days,
        )[0]
    return render(request, "account.html", {"a": view}, active="accounts")


@router.post("/accounts/connect/{provider}", dependencies=[Depends(require_csrf)])
def connect(request: Request, provider: str, viewer: Viewer = Depends(require_viewer)) -> Response:
    return oauth_flow.start(request, provider, "connect", viewer)


@router.post("/accounts/{account_id}/reconnect", dependencies=[Depends(require_csrf)])
def reconnect(
    request: Request, account_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    with transaction(sessions_of(request)) as db:
        row = queries.owned(db, Account, viewer.owner_id, account_id)
        provider, address = row.provider, row.address
    return oauth_flow.start(request, provider, "connect", viewer, login_hint=address)


@router.get("/accounts/oauth/{provider}/callback")
def oauth_callback(
    request: Request, provider: str, viewer: Viewer | None = Depends(optional_viewer)
) -> Response:
    return oauth_flow.callback(request, provider, viewer)
