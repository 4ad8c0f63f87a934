"""What the owner reviews, read one way for the review page and the CLI alike: the
suggestion views (waiting, snoozed, done) and their counts, contacts in a chosen order, and
each contact's open promises both ways. Every query takes ``owner_id``.

The web app (:mod:`rapportd.agent.web.queries`) and the CLI (``rapportd suggestions list``,
``rapportd contacts``) both call these functions, so they show the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rapportd.agent.store.models import Commitment, Contact, Suggestion

ACTIONABLE = ("proposed", "pending", "written")
DONE = ("accepted", "sent", "sent_edited", "dismissed", "expired", "moot")
VIEWS = ("inbox", "snoozed", "done")
VIEW_LABELS = {"inbox": "Waiting", "snoozed": "Snoozed", "done": "Done"}


def basis_text(reasons: dict[str, Any]) -> str:
    """One short line for a suggestion planned on the recent window alone (recent first:
    ``reasons["window_days"]``), "" for the others."""
    days = reasons.get("window_days")
    if not days:
        return ""
    return f"Based on the last {days} days: older mail was still syncing."


CONTACT_SORTS: dict[str, Any] = {
    "name": func.lower(Contact.display_name),
    "strength": Contact.strength,
    "stage": Contact.stage,
    "rhythm": Contact.typical_gap_days,
    "overdue": Contact.overdue_score,
    "last": Contact.last_interaction_at,
}


def zone(name: str) -> ZoneInfo:
    """The owner's time zone (UTC when the name is unknown)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(dt: datetime | None, tz: str) -> str:
    """A moment as the owner reads it, in their zone: ``Tue 09 Dec 2025, 14:00``."""
    if dt is None:
        return ""
    return dt.astimezone(zone(tz)).strftime("%a %d %b %Y, %H:%M")


def day(dt: datetime | None, tz: str) -> str:
    """A day as the owner reads it, in their zone: ``Tue 09 Dec 2025``."""
    if dt is None:
        return ""
    return dt.astimezone(zone(tz)).strftime("%a %d %b %Y")


def suggestions_in_view(
    db: Session, owner_id: int, view: str, *, now: datetime, kind: str | None = None
) -> list[Suggestion]:
    """``inbox``: waiting for the person (snoozes that ran out come back); ``snoozed``;
    ``done``: decided or gone. Newest first."""
    q = select(Suggestion).where(Suggestion.owner_id == owner_id, _in_view(view, now))
    if kind:
        q = q.where(Suggestion.kind == kind)
    return list(db.scalars(q.order_by(Suggestion.created_at.desc(), Suggestion.id.desc())))


def _in_view(view: str, now: datetime) -> Any:
    if view == "snoozed":
        return (Suggestion.status == "snoozed") & (Suggestion.snoozed_until > now)
    if view == "done":
        return Suggestion.status.in_(DONE)
    return or_(
        Suggestion.status.in_(ACTIONABLE),
        (Suggestion.status == "snoozed")
        & or_(Suggestion.snoozed_until.is_(None), Suggestion.snoozed_until <= now),
    )


def view_counts(db: Session, owner_id: int, *, now: datetime) -> dict[str, int]:
    """How many suggestions each view holds (counted by the database)."""
    return {
        v: int(
            db.scalar(
                select(func.count())
                .select_from(Suggestion)
                .where(Suggestion.owner_id == owner_id, _in_view(v, now))
            )
            or 0
        )
        for v in VIEWS
    }


def contacts_sorted(
    db: Session,
    owner_id: int,
    *,
    sort: str = "overdue",
    descending: bool = True,
    include_automated: bool = False,
) -> list[Contact]:
    """The owner's contacts in the order asked for (unknown values last)."""
    column = CONTACT_SORTS.get(sort, Contact.overdue_score)
    order = column.desc() if descending else column.asc()
    q = select(Contact).where(Contact.owner_id == owner_id)
    if not include_automated:
        q = q.where(Contact.is_automated.is_(False))
    return list(db.scalars(q.order_by(column.is_(None), order, Contact.id)))


@dataclass
class PromiseCounts:
    by_owner: int = 0  # what the owner promised, still open
    to_owner: int = 0  # what others promised the owner, still open

    @property
    def total(self) -> int:
        return self.by_owner + self.to_owner

    def text(self) -> str:
        return f"{self.by_owner} by you · {self.to_owner} to you"


def open_promises(db: Session, owner_id: int) -> dict[int, PromiseCounts]:
    """Per contact: promises still open (or late), made by the owner and made to them."""
    rows = db.execute(
        select(Commitment.contact_id, Commitment.direction, func.count())
        .where(
            Commitment.owner_id == owner_id,
            Commitment.kind == "commitment",
            Commitment.state.in_(("open", "late")),
            Commitment.contact_id.is_not(None),
        )
        .group_by(Commitment.contact_id, Commitment.direction)
    ).all()
    out: dict[int, PromiseCounts] = defaultdict(PromiseCounts)
    for contact_id, direction, n in rows:
        if direction == "by_owner":
            out[contact_id].by_owner += n
        else:
            out[contact_id].to_owner += n
    return out
