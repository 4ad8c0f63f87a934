"""The JSON API under /api/: the same reads and actions as the pages.

Authentication is the page's session cookie; every POST/PUT also needs the session's CSRF
token in the ``X-CSRF-Token`` header (``GET /api/me`` returns it). Another owner's ids
answer 404, exactly like ids that do not exist. The schema is at ``/api/openapi.json``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rapportd.agent.core import clock
from rapportd.agent.core.errors import Conflict, NotFound
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, Owner, Suggestion
from rapportd.agent.suggest import actions
from rapportd.agent.web import prefs, queries
from rapportd.agent.web.accounts import account_views
from rapportd.agent.web.auth import Viewer, require_viewer, sessions_of
from rapportd.agent.web.contacts import contact_detail, contact_rows
from rapportd.agent.web.csrf import require_csrf
from rapportd.agent.web.presenters import group_of

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    404: {"description": "No such item for this owner"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"description": "Missing or wrong X-CSRF-Token"},
    409: {"description": "The suggestion's state forbids it (finished, or changed in the mailbox)"},
}

router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)


class Me(BaseModel):
    owner_id: int
    email: str
    display_name: str
    timezone: str
    csrf_token: str = Field(description="Send it as X-CSRF-Token on every POST/PUT.")


class SuggestionOut(BaseModel):
    id: int
    kind: str
    group: str
    status: str
    title: str
    subject: str
    body: str
    to: list[str]
    hold_start: datetime | None
    hold_end: datetime | None
    snoozed_until: datetime | None
    created_at: datetime
    contact_id: int | None
    account_id: int | None
    reasons: dict[str, Any]


class EditIn(BaseModel):
    body: str = Field(max_length=200_000, description="Refused (422) when blank or over 20,000.")
    subject: str | None = Field(default=None, max_length=5000)
    to: str | None = Field(
        default=None, max_length=20_000, description="Recipients: 'Ann <ann@x.org>, bob@y.org'."
    )


class DismissIn(BaseModel):
    reason: str = Field(
        default="",
        description="Optional: " + ", ".join(actions.DISMISS_REASONS) + " (that one mutes the "
        "person for this kind).",
    )


class UndoOut(BaseModel):
    undone: list[int] = Field(description="The suggestions put back as they were.")


class SnoozeIn(BaseModel):
    until: datetime | None = Field(default=None, description="Aware date-time in the future.")
    days: int | None = Field(default=None, ge=1, le=365)


class ContactOut(BaseModel):
    id: int
    name: str
    address: str
    strength: float | None
    stage: str
    rhythm: str
    typical_gap_days: float | None
    overdue_score: float | None
    last: str
    silence_days: int | None
    promised_by_you: int
    promised_to_you: int
    is_internal: bool


class ContactDetailOut(ContactOut):
    addresses: list[str]
    rhythm_sentence: str
    next_expected: str
    commitments: list[dict[str, Any]]


class AccountOut(BaseModel):
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
    errors: list[dict[str, str]]


def suggestion_out(s: Suggestion) -> SuggestionOut:
    to = []
    for item in s.to_addrs or []:
        if isinstance(item, list | tuple) and item:
            to.append(str(item[0]))
        elif isinstance(item, dict):
            to.append(str(item.get("email", "")))
        else:
            to.append(str(item))
    return SuggestionOut(
        id=s.id,
        kind=s.kind,
        group=group_of(s.kind),
        status=s.status,
        title=s.title,
        subject=s.subject,
        body=s.body,
        to=to,
        hold_start=s.hold_start,
        hold_end=s.hold_end,
        snoozed_until=s.snoozed_until,
        created_at=s.created_at,
        contact_id=s.contact_id,
        account_id=s.account_id,
        reasons=dict(s.reasons or {}),
    )


@router.get("/me", response_model=Me)
def me(viewer: Viewer = Depends(require_viewer)) -> Me:
    return Me(
        owner_id=viewer.owner_id,
        email=viewer.email,
        display_name=viewer.display_name,
        timezone=viewer.timezone,
        csrf_token=viewer.csrf_token,
    )


@router.get("/suggestions", response_model=list[SuggestionOut])
def list_suggestions(
    request: Request,
    view: str = "inbox",
    kind: str | None = None,
    viewer: Viewer = Depends(require_viewer),
) -> list[SuggestionOut]:
    if view not in queries.VIEWS:
        raise HTTPException(status_code=422, detail=f"view is one of {list(queries.VIEWS)}")
    with transaction(sessions_of(request)) as db:
        rows = queries.suggestions_in_view(db, viewer.owner_id, view, now=clock.now(), kind=kind)
        return [suggestion_out(s) for s in rows]


@router.get("/suggestions/{suggestion_id}", response_model=SuggestionOut)
def get_suggestion(
    request: Request, suggestion_id: int, viewer: Viewer = Depends(require_viewer)
) -> SuggestionOut:
    with transaction(sessions_of(request)) as db:
        return suggestion_out(queries.owned(db, Suggestion, viewer.owner_id, suggestion_id))


def _act(request: Request, viewer: Viewer, suggestion_id: int, act: Any) -> SuggestionOut:
    try:
        with transaction(sessions_of(request)) as db:
            queries.owned(db, Suggestion, viewer.owner_id, suggestion_id)
            s = act(db)
            return suggestion_out(s)
    except NotFound:
        raise HTTPException(status_code=404, detail="not found") from None
    except actions.EditRefused as exc:
        detail = [{"loc": ["body", exc.field], "msg": exc.message}]
        raise HTTPException(status_code=422, detail=detail) from None
    except Conflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


CSRF = [Depends(require_csrf)]


@router.post(
    "/suggestions/{suggestion_id}/accept",
    response_model=SuggestionOut,
    dependencies=CSRF,
    responses=WRITE_ERRORS,
)
def accept(
    request: Request, suggestion_id: int, viewer: Viewer = Depends(require_viewer)
) -> SuggestionOut:
    """A hold is confirmed in the calendar; a draft is marked accepted (and written now)."""
    return _act(
        request,
        viewer,
        suggestion_id,
        lambda db: actions.accept(db, viewer.owner_id, suggestion_id, source="web"),
    )


@router.post(
    "/suggestions/{suggestion_id}/edit",
    response_model=SuggestionOut,
    dependencies=CSRF,
    responses=WRITE_ERRORS,
)
def edit(
    request: Request,
    suggestion_id: int,
    change: EditIn,
    viewer: Viewer = Depends(require_viewer),
) -> SuggestionOut:
    """The draft in the mailbox is updated, unless the person changed it there (409)."""
    return _act(
        request,
        viewer,
        suggestion_id,
        lambda db: actions.edit(
            db,
            viewer.owner_id,
            suggestion_id,
            body=change.body,
            subject=change.subject,
            to=change.to,
        ),
    )


@router.post(
    "/suggestions/{suggestion_id}/snooze",
    response_model=SuggestionOut,
    dependencies=CSRF,
    responses=WRITE_ERRORS,
)
def snooze(
    request: Request,
    suggestion_id: int,
    when: SnoozeIn,
    viewer: Viewer = Depends(require_viewer),
) -> SuggestionOut:
    """Until a date-time (aware, in the future, within a year) or for a number of days."""
    now = clock.now()
    if when.days is not None:
        until = now + timedelta(days=when.days)
    elif when.until is not None:
        if when.until.tzinfo is None or when.until.utcoffset() is None:
            raise HTTPException(status_code=422, detail="until needs a time zone offset")
        until = when.until
        try:
            if until <= now or until > now + timedelta(days=366):
                raise HTTPException(status_code=422, detail="until must be within the next year")
        except OverflowError:
            raise HTTPException(status_code=422, detail="until is out of range") from None
    else:
        raise HTTPException(status_code=422, detail="give until or days")
    return _act(
        request,
        viewer,
        suggestion_id,
        lambda db: actions.snooze(db, viewer.owner_id, suggestion_id, until=until),
    )


@router.post(
    "/suggestions/{suggestion_id}/dismiss",
    response_model=SuggestionOut,
    dependencies=CSRF,
    responses=WRITE_ERRORS,
)
def dismiss(
    request: Request,
    suggestion_id: int,
    why: DismissIn | None = None,
    viewer: Viewer = Depends(require_viewer),
) -> SuggestionOut:
    """The draft or hold is removed from the mailbox (unless the person changed it); an
    optional reason teaches rapportd."""
    reason = why.reason if why is not None else ""
    return _act(
        request,
        viewer,
        suggestion_id,
        lambda db: actions.dismiss(db, viewer.owner_id, suggestion_id, reason=reason, source="web"),
    )


@router.post("/suggestions/undo", response_model=UndoOut, dependencies=CSRF, responses=WRITE_ERRORS)
def undo(request: Request, viewer: Viewer = Depends(require_viewer)) -> UndoOut:
    """Undo the last action (all the suggestions of a bulk action) while its writes still
    wait in the outbox: 15 seconds. 409 when there is nothing left to undo."""
    try:
        with transaction(sessions_of(request)) as db:
            return UndoOut(undone=[s.id for s in actions.undo(db, viewer.owner_id)])
    except Conflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


@router.get("/contacts", response_model=list[ContactOut])
def list_contacts(
    request: Request,
    sort: str = "overdue",
    order: str = "desc",
    viewer: Viewer = Depends(require_viewer),
) -> list[dict[str, Any]]:
    if sort not in queries.CONTACT_SORTS or order not in ("asc", "desc"):
        raise HTTPException(
            status_code=422, detail=f"sort is one of {list(queries.CONTACT_SORTS)}, order asc|desc"
        )
    with transaction(sessions_of(request)) as db:
        rows = contact_rows(
            db,
            viewer.owner_id,
            sort=sort,
            descending=order == "desc",
            now=clock.now(),
            tz=viewer.timezone,
        )
        return [r.as_dict() for r in rows]


@router.get("/contacts/{contact_id}", response_model=ContactDetailOut)
def get_contact(
    request: Request, contact_id: int, viewer: Viewer = Depends(require_viewer)
) -> dict[str, Any]:
    with transaction(sessions_of(request)) as db:
        d = contact_detail(db, viewer.owner_id, contact_id, now=clock.now(), tz=viewer.timezone)
    return {
        **d["contact"].as_dict(),
        "addresses": d["addresses"],
        "rhythm_sentence": d["rhythm_sentence"],
        "next_expected": d["next_expected"],
        "commitments": d["commitments"],
    }


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(
    request: Request, viewer: Viewer = Depends(require_viewer)
) -> list[dict[str, Any]]:
    with transaction(sessions_of(request)) as db:
        rows = queries.accounts_of(db, viewer.owner_id)
        views = account_views(
            db,
            viewer.owner_id,
            viewer.timezone,
            rows,
            now=clock.now(),
            window_days=request.app.state.settings.sync.recent_window_days,
        )
    return [v.as_dict() for v in views]


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(
    request: Request, account_id: int, viewer: Viewer = Depends(require_viewer)
) -> dict[str, Any]:
    with transaction(sessions_of(request)) as db:
        row = queries.owned(db, Account, viewer.owner_id, account_id)
        view = account_views(
            db,
            viewer.owner_id,
            viewer.timezone,
            [row],
            now=clock.now(),
            window_days=request.app.state.settings.sync.recent_window_days,
        )
    return view[0].as_dict()


def _owner(db: Session, viewer: Viewer) -> Owner:
    owner = db.get(Owner, viewer.owner_id)
    if owner is None:
        raise HTTPException(status_code=404, detail="not found")
    return owner


@router.get("/settings", response_model=prefs.OwnerSettings)
def get_settings(request: Request, viewer: Viewer = Depends(require_viewer)) -> prefs.OwnerSettings:
    with transaction(sessions_of(request)) as db:
        return prefs.current(_owner(db, viewer), request.app.state.settings)


@router.put(
    "/settings",
    response_model=prefs.OwnerSettings,
    dependencies=[Depends(require_csrf)],
    responses={**WRITE_ERRORS, 422: {"description": "Invalid settings"}},
)
def put_settings(
    request: Request, new: prefs.OwnerSettings, viewer: Viewer = Depends(require_viewer)
) -> prefs.OwnerSettings:
    """Replace the owner's settings (fields left out take their defaults)."""
    with transaction(sessions_of(request)) as db:
        prefs.store(_owner(db, viewer), new)
    return new
