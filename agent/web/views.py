"""The review page: suggestions grouped by what they ask of the person, and the four
actions. Every action is a plain form POST (303 back to the list, a notice in the URL);
with htmx the same POST answers with the updated card, swapped in place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from rapportd.agent import clock
from rapportd.agent.errors import Conflict, NotFound
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Suggestion
from rapportd.agent.suggest import actions
from rapportd.agent.web import queries
from rapportd.agent.web.auth import Viewer, require_viewer, sessions_of
from rapportd.agent.web.csrf import require_csrf
from rapportd.agent.web.presenters import build_card, card_context, grouped, zone
from rapportd.agent.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

NOTICES = {
    "accept": "Accepted.",
    "edit": "Draft updated; your mailbox copy follows shortly.",
    "snooze": "Snoozed.",
    "dismiss": "Dismissed; the draft or hold is removed from your mailbox.",
}
MAX_BODY = 20000
MAX_SUBJECT = 500


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/suggestions", status_code=303)


@router.get("/suggestions")
def suggestions_page(
    request: Request,
    viewer: Viewer = Depends(require_viewer),
    view: str = "inbox",
    done: str = "",
    sid: int | None = None,
) -> Response:
    return list_response(request, viewer, view=view, notice=NOTICES.get(done, ""), sid=sid)


def list_response(
    request: Request,
    viewer: Viewer,
    *,
    view: str = "inbox",
    notice: str = "",
    error: str = "",
    sid: int | None = None,
    status_code: int = 200,
) -> Response:
    now = clock.now()
    view = view if view in queries.VIEWS else "inbox"
    with transaction(sessions_of(request)) as db:
        rows = queries.suggestions_in_view(db, viewer.owner_id, view, now=now)
        ctx = card_context(db, viewer.owner_id, viewer.timezone, now, rows)
        cards = [build_card(ctx, s) for s in rows]
        counts = queries.view_counts(db, viewer.owner_id, now=now)
    return render(
        request,
        "suggestions.html",
        {
            "groups": grouped(cards),
            "total": len(cards),
            "view": view,
            "counts": counts,
            "notice": notice,
            "error": error,
            "sid": sid,
            "snooze_default": _default_snooze(now, viewer.timezone),
        },
        active="suggestions",
        status_code=status_code,
    )


@router.get("/suggestions/{suggestion_id}")
def suggestion_page(
    request: Request, suggestion_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    now = clock.now()
    with transaction(sessions_of(request)) as db:
        s = queries.owned(db, Suggestion, viewer.owner_id, suggestion_id)
        card = build_card(card_context(db, viewer.owner_id, viewer.timezone, now, [s]), s)
    return render(
        request,
        "suggestion.html",
        {"card": card, "snooze_default": _default_snooze(now, viewer.timezone)},
        active="suggestions",
    )


def _default_snooze(now: datetime, tz: str) -> str:
    return (now.astimezone(zone(tz)) + timedelta(days=7)).date().isoformat()


def parse_snooze(until: str, days: int | None, *, now: datetime, tz: str) -> datetime:
    """A date (``YYYY-MM-DD``, 08:00 the person's time) or a number of days from now; it must
    be in the future and within a year."""
    if days is not None:
        if not 1 <= days <= 365:
            raise ValueError("snooze for 1 to 365 days")
        return now + timedelta(days=days)
    try:
        date = datetime.fromisoformat(until.strip()).date()
    except ValueError:
        raise ValueError("give a date such as 2025-06-30") from None
    moment = datetime.combine(date, time(8, 0), tzinfo=zone(tz)).astimezone(UTC)
    if moment <= now:
        raise ValueError("the snooze date must be in the future")
    if moment > now + timedelta(days=366):
        raise ValueError("snooze for at most a year")
    return moment


def run_action(
    request: Request,
    viewer: Viewer,
    suggestion_id: int,
    verb: str,
    act: Callable[[Session], object],
) -> tuple[str, str]:
    """Run one action in its own transaction. Returns (notice, error); 404 for ids that are
    not this owner's, whatever the action."""
    try:
        with transaction(sessions_of(request)) as db:
            queries.owned(db, Suggestion, viewer.owner_id, suggestion_id)
            act(db)
    except NotFound:
        raise HTTPException(status_code=404, detail="not found") from None
    except Conflict as exc:
        return "", str(exc)
    except ValueError as exc:
        return "", str(exc)
    return NOTICES[verb], ""


def answer(
    request: Request, viewer: Viewer, suggestion_id: int, verb: str, notice: str, error: str
) -> Response:
    if is_htmx(request):
        now = clock.now()
        with transaction(sessions_of(request)) as db:
            s = queries.owned(db, Suggestion, viewer.owner_id, suggestion_id)
            card = build_card(card_context(db, viewer.owner_id, viewer.timezone, now, [s]), s)
        return render(
            request,
            "_card.html",
            {
                "card": card,
                "notice": notice,
                "error": error,
                "snooze_default": _default_snooze(now, viewer.timezone),
            },
        )
    if error:  # no redirect: the reason is shown on the page it answers, not put in a URL
        return list_response(request, viewer, error=error, sid=suggestion_id, status_code=409)
    return RedirectResponse(
        f"/suggestions?done={verb}&sid={suggestion_id}#s-{suggestion_id}", status_code=303
    )


@router.post("/suggestions/{suggestion_id}/accept", dependencies=[Depends(require_csrf)])
def accept_action(
    request: Request, suggestion_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    notice, error = run_action(
        request,
        viewer,
        suggestion_id,
        "accept",
        lambda db: actions.accept(db, viewer.owner_id, suggestion_id, source="web"),
    )
    return answer(request, viewer, suggestion_id, "accept", notice, error)


@router.post("/suggestions/{suggestion_id}/edit", dependencies=[Depends(require_csrf)])
def edit_action(
    request: Request,
    suggestion_id: int,
    body: Annotated[str, Form(max_length=MAX_BODY)],
    subject: Annotated[str | None, Form(max_length=MAX_SUBJECT)] = None,
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    notice, error = run_action(
        request,
        viewer,
        suggestion_id,
        "edit",
        lambda db: actions.edit(
            db, viewer.owner_id, suggestion_id, body=body, subject=subject, source="web"
        ),
    )
    return answer(request, viewer, suggestion_id, "edit", notice, error)


@router.post("/suggestions/{suggestion_id}/snooze", dependencies=[Depends(require_csrf)])
def snooze_action(
    request: Request,
    suggestion_id: int,
    until: Annotated[str, Form(max_length=40)] = "",
    days: Annotated[int | None, Form()] = None,
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    def act(db: Session) -> object:
        moment = parse_snooze(until, days, now=clock.now(), tz=viewer.timezone)
        return actions.snooze(db, viewer.owner_id, suggestion_id, until=moment, source="web")

    notice, error = run_action(request, viewer, suggestion_id, "snooze", act)
    return answer(request, viewer, suggestion_id, "snooze", notice, error)


@router.post("/suggestions/{suggestion_id}/dismiss", dependencies=[Depends(require_csrf)])
def dismiss_action(
    request: Request, suggestion_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    notice, error = run_action(
        request,
        viewer,
        suggestion_id,
        "dismiss",
        lambda db: actions.dismiss(db, viewer.owner_id, suggestion_id, source="web"),
    )
    return answer(request, viewer, suggestion_id, "dismiss", notice, error)
