"""The review page: one compact row per suggestion, grouped by what it asks of the person,
opening in place to the draft or hold and why; the actions, bulk actions and undo.

Every action is a plain form POST (303 back to the list with a notice, or the suggestion's
page with the reason and the typed text when it is refused); with htmx the same POST
answers with the updated row, swapped in place (a bulk action and undo answer with every
row they changed, out of band). ``static/triage.js`` adds the keyboard on top.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rapportd.agent.core import clock
from rapportd.agent.core.errors import Conflict, NotFound
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Suggestion
from rapportd.agent.suggest import actions
from rapportd.agent.web import briefs, queries
from rapportd.agent.web.auth import Viewer, require_viewer, sessions_of
from rapportd.agent.web.csrf import require_csrf
from rapportd.agent.web.presenters import Card, build_card, card_context, grouped, zone
from rapportd.agent.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

UNDO_SECONDS = int(actions.UNDO_WINDOW.total_seconds())
NOTICES = {
    "accept": "Accepted.",
    "edit": "Draft updated; your mailbox copy follows.",
    "snooze": "Snoozed.",
    "dismiss": "Dismissed; it is removed from your mailbox.",
    "undo": "Undone: nothing reached your mailbox.",
    "promise": "Promise kept in view: a hold to write the answer comes before the date.",
}
NO_UNDO = frozenset({"promise"})  # not a write of the draft or hold: nothing to take back
HOLD_NOTICES = {
    "accept": "Accepted: it is confirmed in your calendar in about 20 seconds.",
    "snooze": "Snoozed; the hold stays in your calendar.",
    "dismiss": "Dismissed; it is removed from your calendar.",
}
# Form fields are capped far above what an edit may hold, so that a too long text reaches
# the action's own check (a message next to the field, the text kept) instead of a bare 422.
FORM_CAP = 10 * actions.MAX_BODY


def _now() -> datetime:
    return clock.now()


@dataclass
class Answer:
    """What an action's answer shows in the row it changed."""

    notice: str = ""
    error: str = ""
    batch: str = ""  # the action's undo batch ("" when it cannot be undone)
    undo_until_ms: int = 0  # when the undo button goes (epoch ms, for the page's clock)
    edit_values: dict[str, str] = field(default_factory=dict)
    edit_errors: dict[str, str] = field(default_factory=dict)
    status_code: int = 200


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/suggestions", status_code=303)


def snooze_choices(now: datetime, tz: str) -> list[tuple[str, str]]:
    """(label, date) for the snooze chooser, in the owner's zone."""
    today = now.astimezone(zone(tz)).date()
    monday = today + timedelta(days=7 - today.weekday())
    return [
        ("Tomorrow", (today + timedelta(days=1)).isoformat()),
        ("In 3 days", (today + timedelta(days=3)).isoformat()),
        ("Next Monday", monday.isoformat()),
        ("In a week", (today + timedelta(days=7)).isoformat()),
        ("In a month", (today + timedelta(days=30)).isoformat()),
    ]


def _page_context(now: datetime, viewer: Viewer) -> dict[str, Any]:
    return {
        "snooze_default": _default_snooze(now, viewer.timezone),
        "snooze_choices": snooze_choices(now, viewer.timezone),
        "reasons": list(actions.DISMISS_REASONS.items()),
        "undo_seconds": UNDO_SECONDS,
    }


@router.get("/suggestions")
def suggestions_page(
    request: Request,
    viewer: Viewer = Depends(require_viewer),
    view: str = "inbox",
    done: str = "",
    sid: int | None = None,
    n: int = 0,
    batch: str = "",
) -> Response:
    notice = NOTICES.get(done, "")
    if sid is not None and done in HOLD_NOTICES:
        with transaction(sessions_of(request)) as db:
            row = db.get(Suggestion, sid)
            if row is not None and row.owner_id == viewer.owner_id and row.hold_start:
                notice = HOLD_NOTICES[done]
    if sid is not None and done == "snooze":  # say what became of the draft
        try:
            card = _card(request, viewer, sid, chart=False)
        except HTTPException:
            card = None
        if card is not None and card.status == "snoozed":
            notice = f"Snoozed until {card.snoozed_until}. {card.snooze_note}"
    if done.startswith("bulk-") and n:
        verb = "Accepted" if done == "bulk-accept" else "Dismissed"
        notice = f"{verb} {n} suggestion{'s' if n != 1 else ''}."
    return list_response(request, viewer, view=view, notice=notice, sid=sid, batch=batch)


def list_response(
    request: Request,
    viewer: Viewer,
    *,
    view: str = "inbox",
    notice: str = "",
    error: str = "",
    sid: int | None = None,
    batch: str = "",
    status_code: int = 200,
) -> Response:
    now = _now()
    view = view if view in queries.VIEWS else "inbox"
    with transaction(sessions_of(request)) as db:
        rows = queries.suggestions_in_view(db, viewer.owner_id, view, now=now)
        ctx = card_context(db, viewer.owner_id, viewer.timezone, now, rows)
        cards = [build_card(ctx, s, with_chart=False) for s in rows]
        counts = queries.view_counts(db, viewer.owner_id, now=now)
        undoable = actions.batch_after(db, viewer.owner_id, now=now)
        # meeting briefs (agent/web/briefs.py): the "Coming up" section, on the inbox only
        upcoming = (
            briefs.coming_up(db, viewer.owner_id, request.app.state.settings, now)
            if view == "inbox"
            else []
        )
    if batch and (undoable is None or undoable[0] != batch):
        batch = ""  # the window has passed
    left = undoable[1] if undoable is not None and batch else 0
    in_row = sid is not None and any(c.id == sid for c in cards)
    row_answer = Answer(notice=notice, batch=batch, undo_until_ms=_ms(now, left))
    return render(
        request,
        "suggestions.html",
        {
            "groups": grouped(cards, view),
            "total": len(cards),
            "view": view,
            "counts": counts,
            "notice": "" if in_row else notice,
            "error": error,
            "sid": sid,
            "row_answer": row_answer if in_row else None,
            "batch": batch,
            "undo_until_ms": row_answer.undo_until_ms,
            "coming_up": upcoming,
            **_page_context(now, viewer),
        },
        active="suggestions",
        status_code=status_code,
    )


def _card(request: Request, viewer: Viewer, suggestion_id: int, *, chart: bool) -> Card:
    now = _now()
    with transaction(sessions_of(request)) as db:
        s = queries.owned(db, Suggestion, viewer.owner_id, suggestion_id)
        return build_card(
            card_context(db, viewer.owner_id, viewer.timezone, now, [s]), s, with_chart=chart
        )


@router.get("/suggestions/{suggestion_id}")
def suggestion_page(
    request: Request, suggestion_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    card = _card(request, viewer, suggestion_id, chart=True)
    return _single(request, viewer, card, Answer())


def _single(request: Request, viewer: Viewer, card: Card, answer: Answer) -> Response:
    return render(
        request,
        "suggestion.html",
        {"card": card, "answer": answer, "open": True, **_page_context(_now(), viewer)},
        active="suggestions",
        status_code=answer.status_code,
    )


@router.get("/suggestions/{suggestion_id}/chart")
def suggestion_chart(
    request: Request, suggestion_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    """The rhythm chart of one suggestion, loaded when its row is opened (the list itself
    stays cheap to draw)."""
    card = _card(request, viewer, suggestion_id, chart=True)
    return render(request, "_chart.html", {"card": card})


def _ms(now: datetime, seconds: float) -> int:
    return int((now.timestamp() + seconds) * 1000)


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
    act: Callable[[Session, str], object],
) -> Answer:
    """Run one action in its own transaction; 404 for ids that are not this owner's."""
    batch = actions.new_batch()
    try:
        with transaction(sessions_of(request)) as db:
            queries.owned(db, Suggestion, viewer.owner_id, suggestion_id)
            act(db, batch)
    except NotFound:
        raise HTTPException(status_code=404, detail="not found") from None
    except actions.EditRefused as exc:
        return Answer(error=exc.message, edit_errors={exc.field: exc.message}, status_code=422)
    except Conflict as exc:
        return Answer(error=str(exc), status_code=409)
    except ValueError as exc:
        return Answer(error=str(exc), status_code=409)
    if verb in NO_UNDO:
        return Answer(notice=NOTICES[verb])
    return Answer(notice=NOTICES[verb], batch=batch, undo_until_ms=_ms(_now(), UNDO_SECONDS))


def _row(request: Request, viewer: Viewer, card: Card, answer: Answer, *, open_: bool) -> str:
    templates = request.app.state.templates
    now = _now()
    ctx = {
        "request": request,
        "card": card,
        "answer": answer,
        "open": open_,
        "oob": False,
        "csrf_token": viewer.csrf_token,
        **_page_context(now, viewer),
    }
    return str(templates.get_template("_row.html").render(ctx))


def answer_row(
    request: Request, viewer: Viewer, suggestion_id: int, verb: str, answer: Answer
) -> Response:
    if is_htmx(request):
        card = _card(request, viewer, suggestion_id, chart=False)
        if card.is_hold and answer.notice == NOTICES.get(verb):
            answer.notice = HOLD_NOTICES.get(verb, answer.notice)
        elif verb == "snooze" and answer.notice:
            answer.notice = f"Snoozed until {card.snoozed_until}. {card.snooze_note}"
        open_ = bool(answer.error) or request.headers.get("x-row-open") == "1"
        html = _row(request, viewer, card, answer, open_=open_)
        return HTMLResponse(
            html, status_code=answer.status_code, headers={"cache-control": "no-store"}
        )
    if answer.error:  # no redirect: the reason, and what was typed, on the suggestion's page
        card = _card(request, viewer, suggestion_id, chart=True)
        return _single(request, viewer, card, answer)
    return RedirectResponse(
        f"/suggestions?done={verb}&sid={suggestion_id}&batch={answer.batch}#s-{suggestion_id}",
        status_code=303,
    )


def _rows_oob(
    request: Request, viewer: Viewer, ids: Sequence[int], answer: Answer, flash: str
) -> Response:
    """Every changed row, out of band, and the page's notice (a bulk action, an undo)."""
    now = _now()
    templates = request.app.state.templates
    parts = []
    with transaction(sessions_of(request)) as db:
        rows = [queries.owned(db, Suggestion, viewer.owner_id, i) for i in ids]
        ctx = card_context(db, viewer.owner_id, viewer.timezone, now, rows)
        cards = [build_card(ctx, s, with_chart=False) for s in rows]
    for card in cards:
        parts.append(
            templates.get_template("_row.html").render(
                {
                    "request": request,
                    "card": card,
                    "answer": answer,
                    "open": False,
                    "oob": True,
                    "csrf_token": viewer.csrf_token,
                    **_page_context(now, viewer),
                }
            )
        )
    parts.append(
        templates.get_template("_flash.html").render(
            {
                "flash": flash,
                "error": answer.error,
                "batch": answer.batch,
                "undo_until_ms": answer.undo_until_ms,
                "csrf_token": viewer.csrf_token,
                "oob": True,
                "undo_seconds": UNDO_SECONDS,
            }
        )
    )
    return HTMLResponse(
        "\n".join(parts), status_code=answer.status_code, headers={"cache-control": "no-store"}
    )


@router.post("/suggestions/{suggestion_id}/accept", dependencies=[Depends(require_csrf)])
def accept_action(
    request: Request, suggestion_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    answer = run_action(
        request,
        viewer,
        suggestion_id,
        "accept",
        lambda db, batch: actions.accept(
            db, viewer.owner_id, suggestion_id, source="web", batch=batch
        ),
    )
    return answer_row(request, viewer, suggestion_id, "accept", answer)


@router.post("/suggestions/{suggestion_id}/promise", dependencies=[Depends(require_csrf)])
def promise_action(
    request: Request, suggestion_id: int, viewer: Viewer = Depends(require_viewer)
) -> Response:
    """A reply owed: keep the acknowledgement's "I'll come back to you by …" as a promise."""
    answer = run_action(
        request,
        viewer,
        suggestion_id,
        "promise",
        lambda db, batch: actions.promise_to_answer(db, viewer.owner_id, suggestion_id),
    )
    return answer_row(request, viewer, suggestion_id, "promise", answer)


@router.post("/suggestions/{suggestion_id}/edit", dependencies=[Depends(require_csrf)])
def edit_action(
    request: Request,
    suggestion_id: int,
    body: Annotated[str, Form(max_length=FORM_CAP)] = "",
    subject: Annotated[str | None, Form(max_length=FORM_CAP)] = None,
    to: Annotated[str | None, Form(max_length=FORM_CAP)] = None,
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    answer = run_action(
        request,
        viewer,
        suggestion_id,
        "edit",
        lambda db, batch: actions.edit(
            db,
            viewer.owner_id,
            suggestion_id,
            body=body,
            subject=subject,
            to=to,
            source="web",
            batch=batch,
        ),
    )
    if answer.error:  # what was typed stays in the form
        answer.edit_values = {"body": body, "subject": subject or "", "to": to or ""}
    return answer_row(request, viewer, suggestion_id, "edit", answer)


@router.post("/suggestions/{suggestion_id}/snooze", dependencies=[Depends(require_csrf)])
def snooze_action(
    request: Request,
    suggestion_id: int,
    until: Annotated[str, Form(max_length=40)] = "",
    days: Annotated[int | None, Form()] = None,
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    def act(db: Session, batch: str) -> object:
        moment = parse_snooze(until, days, now=_now(), tz=viewer.timezone)
        return actions.snooze(
            db, viewer.owner_id, suggestion_id, until=moment, source="web", batch=batch
        )

    answer = run_action(request, viewer, suggestion_id, "snooze", act)
    return answer_row(request, viewer, suggestion_id, "snooze", answer)


@router.post("/suggestions/{suggestion_id}/dismiss", dependencies=[Depends(require_csrf)])
def dismiss_action(
    request: Request,
    suggestion_id: int,
    reason: Annotated[str, Form(max_length=40)] = "",
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    answer = run_action(
        request,
        viewer,
        suggestion_id,
        "dismiss",
        lambda db, batch: actions.dismiss(
            db, viewer.owner_id, suggestion_id, reason=reason, source="web", batch=batch
        ),
    )
    if reason == "never_for_person" and not answer.error:
        answer.notice = "Dismissed; no more of these for this person (Settings lists them)."
    return answer_row(request, viewer, suggestion_id, "dismiss", answer)


@router.post("/suggestions/bulk", dependencies=[Depends(require_csrf)])
def bulk_action(
    request: Request,
    action: Annotated[str, Form(max_length=20)] = "",
    ids: Annotated[list[int], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    reason: Annotated[str, Form(max_length=40)] = "",
    view: Annotated[str, Form(max_length=20)] = "inbox",
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    """Accept or dismiss every selected suggestion at once (one undo undoes them all)."""
    chosen = list(dict.fromkeys(ids))[:200]
    answer = Answer(batch=actions.new_batch(), undo_until_ms=_ms(_now(), UNDO_SECONDS))
    if action not in ("accept", "dismiss") or not chosen:
        answer = Answer(error="Select suggestions first, then accept or dismiss them.")
        answer.status_code = 422
    else:
        try:
            with transaction(sessions_of(request)) as db:
                for sid in chosen:
                    queries.owned(db, Suggestion, viewer.owner_id, sid)
                    if action == "accept":
                        actions.accept(db, viewer.owner_id, sid, source="web", batch=answer.batch)
                    else:
                        actions.dismiss(
                            db,
                            viewer.owner_id,
                            sid,
                            reason=reason,
                            source="web",
                            batch=answer.batch,
                        )
        except (Conflict, ValueError) as exc:  # nothing of the batch is kept
            answer = Answer(error=f"Nothing changed: {exc}", status_code=409)
    n = len(chosen)
    verb = "Accepted" if action == "accept" else "Dismissed"
    flash = "" if answer.error else f"{verb} {n} suggestion{'s' if n != 1 else ''}."
    if is_htmx(request):
        return _rows_oob(request, viewer, chosen if not answer.error else [], answer, flash)
    if answer.error:
        return list_response(
            request, viewer, view=view, error=answer.error, status_code=answer.status_code
        )
    return RedirectResponse(
        f"/suggestions?view={view}&done=bulk-{action}&n={n}&batch={answer.batch}",
        status_code=303,
    )


@router.post("/suggestions/undo", dependencies=[Depends(require_csrf)])
def undo_action(
    request: Request,
    batch: Annotated[str, Form(max_length=40)] = "",
    viewer: Viewer = Depends(require_viewer),
) -> Response:
    """Undo the last action (or ``batch``) while its writes still wait in the outbox."""
    try:
        with transaction(sessions_of(request)) as db:
            undone = actions.undo(db, viewer.owner_id, batch=batch or None, now=_now())
            ids = [s.id for s in undone]
        answer = Answer(notice=NOTICES["undo"])
    except Conflict as exc:
        ids, answer = [], Answer(error=str(exc), status_code=409)
    if is_htmx(request):
        rows = Answer(error=answer.error, status_code=answer.status_code)
        return _rows_oob(request, viewer, ids, rows, answer.notice)
    if answer.error:
        return list_response(request, viewer, error=answer.error, status_code=409)
    first = f"&sid={ids[0]}#s-{ids[0]}" if len(ids) == 1 else ""
    return RedirectResponse(f"/suggestions?done=undo{first}", status_code=303)
