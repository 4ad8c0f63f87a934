"""Every read the web app makes, always filtered by ``owner_id``.

Nothing in the web app loads a row by id alone: :func:`owned` looks an id up *with* the
owner, and another owner's id is indistinguishable from one that does not exist (404).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from fastapi import HTTPException
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    ContactIdentity,
    Message,
    OutboxOperation,
    PushSubscription,
    Suggestion,
    SyncRun,
)

# The reads shared with the CLI (one query layer): re-exported for the web modules.
from rapportd.agent.store.review import (
    ACTIONABLE as ACTIONABLE,
)
from rapportd.agent.store.review import (
    CONTACT_SORTS as CONTACT_SORTS,
)
from rapportd.agent.store.review import (
    DONE as DONE,
)
from rapportd.agent.store.review import (
    VIEWS as VIEWS,
)
from rapportd.agent.store.review import (
    PromiseCounts as PromiseCounts,
)
from rapportd.agent.store.review import (
    contacts_sorted as contacts_sorted,
)
from rapportd.agent.store.review import (
    open_promises as open_promises,
)
from rapportd.agent.store.review import (
    suggestions_in_view as suggestions_in_view,
)
from rapportd.agent.store.review import (
    view_counts as view_counts,
)

T = TypeVar("T", Account, Contact, Suggestion, Commitment, Message, CalendarEvent)


def owned(db: Session, model: type[T], owner_id: int, row_id: int) -> T:
    """The row with this id that belongs to this owner, else 404 (never 403: no hint that
    the id exists for someone else)."""
    row = db.scalar(select(model).where(model.id == row_id, model.owner_id == owner_id))
    if row is None:
        raise HTTPException(status_code=404, detail="not found")
    return row


def contact_commitments(db: Session, owner_id: int, contact_id: int) -> list[Commitment]:
    q = (
        select(Commitment)
        .where(Commitment.owner_id == owner_id, Commitment.contact_id == contact_id)
        .order_by(Commitment.due_at.desc(), Commitment.id.desc())
        .limit(50)
    )
    return list(db.scalars(q))


def contact_addresses(db: Session, owner_id: int, contact: Contact) -> list[str]:
    found = db.scalars(
        select(ContactIdentity.address).where(
            ContactIdentity.owner_id == owner_id, ContactIdentity.contact_id == contact.id
        )
    ).all()
    addresses = {a.lower() for a in found}
    if contact.primary_address:
        addresses.add(contact.primary_address.lower())
    return sorted(addresses)


def interactions(
    db: Session, owner_id: int, addresses: list[str], *, since: datetime, limit: int = 2000
) -> list[tuple[datetime, str]]:
    """(when, "in" | "out" | "meeting") with these addresses since ``since``: mail from
    them, mail to them, meetings with them. Bounded, for a chart."""
    if not addresses:
        return []
    out: list[tuple[datetime, str]] = []
    inbound = select(Message.sent_at).where(
        Message.owner_id == owner_id,
        Message.deleted.is_(False),
        Message.sent_at >= since,
        func.lower(Message.from_addr).in_(addresses),
    )
    out += [(at, "in") for at in db.scalars(inbound.limit(limit)) if at is not None]
    to_them = or_(
        *(
            func.lower(cast(Message.to_addrs, String)).contains(a, autoescape=True)
            for a in addresses
        )
    )
    outbound = select(Message.sent_at).where(
        Message.owner_id == owner_id,
        Message.deleted.is_(False),
        Message.direction == "out",
        Message.sent_at >= since,
        to_them,
    )
    out += [(at, "out") for at in db.scalars(outbound.limit(limit)) if at is not None]
    with_them = or_(
        *(
            func.lower(cast(CalendarEvent.attendees, String)).contains(a, autoescape=True)
            for a in addresses
        )
    )
    meetings = select(CalendarEvent.start_at).where(
        CalendarEvent.owner_id == owner_id,
        CalendarEvent.deleted.is_(False),
        CalendarEvent.status != "cancelled",
        CalendarEvent.start_at >= since,
        with_them,
    )
    out += [(at, "meeting") for at in db.scalars(meetings.limit(limit)) if at is not None]
    out.sort()
    return out


def accounts_of(db: Session, owner_id: int) -> list[Account]:
    q = select(Account).where(Account.owner_id == owner_id).order_by(Account.id)
    return list(db.scalars(q))


def quota_spent(db: Session, owner_id: int, *, now: datetime) -> dict[int, tuple[int, int]]:
    """Per account: (requests, quota units) spent by syncs over the last 24 hours."""
    rows = db.execute(
        select(SyncRun.account_id, func.sum(SyncRun.requests), func.sum(SyncRun.quota_units))
        .where(SyncRun.owner_id == owner_id, SyncRun.started_at >= now - timedelta(days=1))
        .group_by(SyncRun.account_id)
    ).all()
    return {aid: (int(r or 0), int(u or 0)) for aid, r, u in rows}


def last_sync_errors(db: Session, owner_id: int, account_id: int, limit: int = 5) -> list[SyncRun]:
    q = (
        select(SyncRun)
        .where(
            SyncRun.owner_id == owner_id,
            SyncRun.account_id == account_id,
            SyncRun.status == "error",
        )
        .order_by(SyncRun.started_at.desc())
        .limit(limit)
    )
    return list(db.scalars(q))


def push_channels(db: Session, owner_id: int, account_id: int) -> list[PushSubscription]:
    """The account's open push channels (Gmail watch, Graph subscriptions)."""
    q = select(PushSubscription).where(
        PushSubscription.owner_id == owner_id, PushSubscription.account_id == account_id
    )
    return list(db.scalars(q.order_by(PushSubscription.expires_at)))


def operations_for(db: Session, owner_id: int, suggestion_id: int) -> list[OutboxOperation]:
    q = (
        select(OutboxOperation)
        .where(OutboxOperation.owner_id == owner_id, OutboxOperation.suggestion_id == suggestion_id)
        .order_by(OutboxOperation.id)
    )
    return list(db.scalars(q))


def rows_by_id(db: Session, model: type[T], owner_id: int, ids: set[int]) -> dict[int, T]:
    """This owner's rows of ``model`` with these ids, in one query."""
    if not ids:
        return {}
    q = select(model).where(model.owner_id == owner_id, model.id.in_(ids))
    return {row.id: row for row in db.scalars(q)}


def operations_of(
    db: Session, owner_id: int, suggestion_ids: list[int]
) -> dict[int, list[OutboxOperation]]:
    """The outbox rows of these suggestions, in one query (every id gets a list)."""
    out: dict[int, list[OutboxOperation]] = {i: [] for i in suggestion_ids}
    if not suggestion_ids:
        return out
    q = select(OutboxOperation).where(
        OutboxOperation.owner_id == owner_id, OutboxOperation.suggestion_id.in_(suggestion_ids)
    )
    for op in db.scalars(q.order_by(OutboxOperation.id)):
        out[op.suggestion_id].append(op)
    return out


def contacts_by_id(db: Session, owner_id: int, ids: set[int]) -> dict[int, Contact]:
    if not ids:
        return {}
    q = select(Contact).where(Contact.owner_id == owner_id, Contact.id.in_(ids))
    return {c.id: c for c in db.scalars(q)}
