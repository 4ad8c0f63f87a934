"""Meeting briefs on the web: the "Coming up" section of the review page and
``GET /api/briefs`` (the same briefs as ``rapportd brief``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapportd.agent.brief.load import load_briefs
from rapportd.agent.brief.model import Brief, Evidence
from rapportd.agent.brief.prep import PrepHoldSettings, prep_settings
from rapportd.agent.brief.text import HEADINGS, state_label
from rapportd.agent.core import clock
from rapportd.agent.core.errors import ConfigError
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, CalendarEvent, Owner
from rapportd.agent.web.auth import Viewer, require_viewer, sessions_of
from rapportd.agent.web.csrf import require_csrf

router = APIRouter(prefix="/api", tags=["api"])
log = get_logger(__name__)


@dataclass(frozen=True)
class BriefView:
    """A brief as the page shows it: times in the owner's zone, facts grouped by heading."""

    brief: Brief
    when: str
    sections: list[tuple[str, list[dict[str, Any]]]]

    @property
    def dom_id(self) -> str:
        return f"brief-{self.brief.meeting_id}"


def _evidence(e: Evidence, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "date": f"{e.sent_at.astimezone(tz):%d %b %Y}",
        "subject": e.subject,
        "ident": e.rfc822_id or e.provider_id or f"message {e.message_id}",
        "link": e.link,
    }


def view_of(brief: Brief) -> BriefView:
    tz = ZoneInfo(brief.timezone)
    sections = []
    for kind, heading in HEADINGS.items():
        facts = brief.of_kind(kind)
        if facts:
            sections.append(
                (
                    heading,
                    [
                        {
                            "text": f.text,
                            "state": state_label(f),
                            "done": f.done,
                            "evidence": _evidence(f.evidence, tz),
                        }
                        for f in facts
                    ],
                )
            )
    start, end = brief.start.astimezone(tz), brief.end.astimezone(tz)
    return BriefView(brief, f"{start:%a %d %b %H:%M}–{end:%H:%M}", sections)


# Built briefs by what they depend on (the section is on every inbox load; building reads
# the owner's whole snapshot): the store and the owner, their last analysis, their accounts' last sync,
# their calendar rows and a ten-minute bucket of the clock (the window moves with "now").
_CACHE: dict[tuple[Any, ...], list[BriefView]] = {}
_CACHE_SIZE = 128
_BUCKET_SECONDS = 600


def _cache_key(db: Session, owner: Owner, now: datetime) -> tuple[Any, ...]:
    synced = db.scalar(select(func.max(Account.last_sync_at)).where(Account.owner_id == owner.id))
    events = db.execute(
        select(
            func.count(CalendarEvent.id),
            func.max(CalendarEvent.id),
            func.max(CalendarEvent.updated_at),
        ).where(CalendarEvent.owner_id == owner.id)
    ).one()
    bucket = int(now.timestamp()) // _BUCKET_SECONDS
    store = str(db.get_bind().engine.url)
    return (store, owner.id, owner.email, owner.analysed_at, synced, tuple(events), bucket)


def coming_up(db: Session, owner_id: int, settings: Settings, now: datetime) -> list[BriefView]:
    """The briefs of the owner's meetings from now to the end of tomorrow, in order; nothing
    (never an error page, the failure logged) when they cannot be built."""
    owner = db.get(Owner, owner_id)
    if owner is None:
        return []
    key = _cache_key(db, owner, now)
    if key in _CACHE:
        return _CACHE[key]
    try:
        views = [view_of(b) for b in load_briefs(db, owner, settings, now=now)]
    except ConfigError:
        return []
    except Exception:  # the section is an aside: the review page must still serve
        log.exception("coming_up failed", owner_id=owner_id)
        return []
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = views
    return views


@router.get("/briefs")
def api_briefs(
    request: Request,
    viewer: Viewer = Depends(require_viewer),
    day: date | None = Query(default=None, alias="date", description="A day, YYYY-MM-DD."),
    meeting: int | None = Query(default=None, description="One meeting's id."),
) -> list[dict[str, Any]]:
    """Meeting briefs: by default every meeting with people outside from now to the end of
    tomorrow; each fact with its evidence (message, exact sentence, link to the thread)."""
    settings: Settings = request.app.state.settings
    with transaction(sessions_of(request)) as db:
        owner = db.get(Owner, viewer.owner_id)
        if owner is None:
            raise HTTPException(404, "no such owner")
        briefs = load_briefs(db, owner, settings, now=clock.now(), day=day, meeting_id=meeting)
    if meeting is not None and not briefs:
        raise HTTPException(404, "no brief for that meeting")
    return [b.as_dict() for b in briefs]


def _owner_row(db: Session, viewer: Viewer) -> Owner:
    owner = db.get(Owner, viewer.owner_id)
    if owner is None:
        raise HTTPException(404, "no such owner")
    return owner


@router.get("/prep-holds", response_model=PrepHoldSettings)
def get_prep_holds(request: Request, viewer: Viewer = Depends(require_viewer)) -> PrepHoldSettings:
    """The prep-hold setting (off until switched on)."""
    with transaction(sessions_of(request)) as db:
        return current_prep(_owner_row(db, viewer))


@router.put(
    "/prep-holds",
    response_model=PrepHoldSettings,
    dependencies=[Depends(require_csrf)],
    responses={
        403: {"description": "Missing or wrong X-CSRF-Token"},
        422: {"description": "Invalid"},
    },
)
def put_prep_holds(
    request: Request, new: PrepHoldSettings, viewer: Viewer = Depends(require_viewer)
) -> PrepHoldSettings:
    """Replace the prep-hold setting; the next plan creates or removes the holds."""
    with transaction(sessions_of(request)) as db:
        store_prep(_owner_row(db, viewer), new)
    return new


def store_prep(owner: Owner, new: PrepHoldSettings) -> None:
    """Save the prep-hold setting and ask for a plan soon: it creates or removes the holds."""
    owner.preferences = {**(owner.preferences or {}), "prep_holds": new.model_dump()}
    owner.analysis_due_at = clock.now()


def current_prep(owner: Owner) -> PrepHoldSettings:
    """The owner's prep-hold setting; the default when what is stored no longer reads."""
    try:
        return prep_settings(owner.preferences)
    except ConfigError:
        return PrepHoldSettings()
