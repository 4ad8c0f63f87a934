"""Small frozen pictures of one owner's store rows, so every rule is a pure function.

:func:`load_snapshot` is the only place here that reads the database; the rules in
:mod:`rapportd.agent.suggest.rules` only ever see a :class:`Snapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rapportd.agent.inference.names import given_name, readable_name
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    ContactIdentity,
    Message,
    Owner,
    Suggestion,
)
from rapportd.agent.suggest.config import SuggestConfig

MESSAGE_DAYS = 120
EVENT_PAST_DAYS = 14
EVENT_FUTURE_DAYS = 30


@dataclass(frozen=True)
class Person:
    email: str
    name: str = ""
    response: str = "needsAction"
    is_self: bool = False


@dataclass(frozen=True)
class MeetingSnap:
    id: int
    key: str  # stable across re-syncs: iCal UID + start, else provider id
    account_id: int
    start: datetime
    end: datetime
    summary: str = ""
    status: str = "confirmed"
    self_response: str = ""
    organizer: str = ""
    organizer_is_self: bool = False
    attendees: tuple[Person, ...] = ()
    is_recurring: bool = False
    all_day: bool = False
    transparency: str = "opaque"
    deleted: bool = False
    rapportd_tag: str = ""


@dataclass(frozen=True)
class MessageSnap:
    id: int
    account_id: int
    sent_at: datetime
    sender: str
    direction: str = "in"
    sender_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    thread_id: str = ""
    provider_id: str = ""
    rfc822_id: str = ""
    references: tuple[str, ...] = ()
    subject: str = ""
    text: str = ""
    rapportd_tag: str = ""
    is_automated: bool = False

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc


@dataclass(frozen=True)
class ContactSnap:
    id: int
    name: str = ""
    address: str = ""
    addresses: frozenset[str] = frozenset()
    is_automated: bool = False
    is_internal: bool = False
    strength: float | None = None
    stage: str = ""
    typical_gap_days: float | None = None
    overdue_score: float | None = None
    last_interaction_at: datetime | None = None
    interaction_count: int = 0
    drift: dict[str, object] | None = None  # inference.drift.Drift.as_dict(), if analysed
    greeting: str = ""  # the name to greet them with (analysis: inference.names.greeting_name)


@dataclass(frozen=True)
class PromiseSnap:
    """A Commitment row: a promise (``commitment``) or a request, either way round."""

    id: int
    key: str
    kind: str  # commitment | request
    direction: str  # by_owner | to_owner
    text: str
    state: str = "open"
    due_at: datetime | None = None
    due_text: str = ""
    by_addr: str = ""
    to_addr: str = ""
    thread_id: str = ""
    message_id: int | None = None
    contact_id: int | None = None
    created_at: datetime | None = None
    rule: str = ""  # the detector rule that found it ("polite_ask", "question", ...)


@dataclass(frozen=True)
class Snapshot:
    owner_id: int
    owner_name: str
    owner_addresses: frozenset[str]
    cfg: SuggestConfig
    accounts: tuple[tuple[int, str, str], ...] = ()  # (id, provider, status)
    meetings: tuple[MeetingSnap, ...] = ()
    messages: tuple[MessageSnap, ...] = ()
    contacts: dict[int, ContactSnap] = field(default_factory=dict)
    by_address: dict[str, int] = field(default_factory=dict)  # address -> contact id
    promises: tuple[PromiseSnap, ...] = ()
    own_holds: tuple[tuple[datetime, datetime], ...] = ()  # holds rapportd already proposed

    def contact_for(self, address: str) -> ContactSnap | None:
        cid = self.by_address.get(address.lower())
        return self.contacts.get(cid) if cid is not None else None

    def greeting_for(self, address: str, name: str = "") -> str:
        """The name to greet this person with: what the analysis learned (how the owner
        greeted them, how they sign, their display name), else the first name of ``name``;
        never an address's local part ("" when there is no name)."""
        contact = self.contact_for(address) if address else None
        if contact is not None and contact.greeting:
            return contact.greeting
        return given_name(name, address) or given_name(contact.name if contact else "", address)

    def display_for(self, address: str, name: str = "") -> str:
        """A readable name for a header or a title ("Henrik Weber"): ``name``, else the
        contact's display name, made readable; the address only when no name is known."""
        contact = self.contact_for(address) if address else None
        return (
            readable_name(name, address)
            or readable_name(contact.name if contact else "", address)
            or address
        )

    def name_for(self, address: str, name: str = "") -> str:
        """Like :meth:`display_for`, but "" instead of the address (for a To header)."""
        shown = self.display_for(address, name)
        return "" if shown == address else shown

    def message(self, message_id: int | None) -> MessageSnap | None:
        if message_id is None:
            return None
        return next((m for m in self.messages if m.id == message_id), None)

    def thread(self, thread_id: str) -> list[MessageSnap]:
        if not thread_id:
            return []
        return sorted(
            (m for m in self.messages if m.thread_id == thread_id), key=lambda m: m.sent_at
        )

    def default_account(self) -> int | None:
        ok = [a for a in self.accounts if a[2] == "ok"] or list(self.accounts)
        return ok[0][0] if ok else None

    def is_external(self, address: str) -> bool:
        address = address.lower()
        if address in self.owner_addresses:
            return False
        domain = address.rpartition("@")[2]
        if domain in self.cfg.org_domains:
            return False
        contact = self.contact_for(address)
        return not (contact is not None and contact.is_internal)


def meeting_key(ev: CalendarEvent) -> str:
    when = (
        (ev.original_start_at or ev.start_at).isoformat()
        if (ev.original_start_at or ev.start_at)
        else ""
    )
    return f"{ev.ical_uid}@{when}" if ev.ical_uid else f"{ev.account_id}:{ev.provider_id}"


def _greeting_of(analysis: Any) -> str:
    greeting = analysis.get("greeting") if isinstance(analysis, dict) else None
    return str(greeting.get("name") or "") if isinstance(greeting, dict) else ""


def _drift_of(analysis: Any) -> dict[str, object] | None:
    """The drift verdict analysis stored for the contact (None for rows analysed before it)."""
    drift = analysis.get("drift") if isinstance(analysis, dict) else None
    return dict(drift) if isinstance(drift, dict) and "drifting" in drift else None


def _meeting(ev: CalendarEvent) -> MeetingSnap | None:
    if ev.start_at is None or ev.end_at is None:
        return None
    people = tuple(
        Person(
            email=str(a.get("email", "")).lower(),
            name=str(a.get("name", "") or ""),
            response=str(a.get("response", "") or "needsAction"),
            is_self=bool(a.get("self", False)),
        )
        for a in (ev.attendees or [])
        if isinstance(a, dict) and a.get("email")
    )
    organizer = ev.organizer.lower()
    if organizer and not ev.organizer_is_self and organizer not in {p.email for p in people}:
        # Graph (and some ICS) leave the organizer out of the attendee list
        people = (*people, Person(email=organizer, response="accepted"))
    return MeetingSnap(
        id=ev.id,
        key=meeting_key(ev),
        account_id=ev.account_id,
        start=ev.start_at,
        end=ev.end_at,
        summary=ev.summary,
        status=ev.status,
        self_response=ev.self_response,
        organizer=ev.organizer.lower(),
        organizer_is_self=ev.organizer_is_self,
        attendees=people,
        is_recurring=ev.is_recurring or bool(ev.series_id),
        all_day=ev.all_day,
        transparency=ev.transparency,
        deleted=ev.deleted,
        rapportd_tag=ev.rapportd_tag,
    )


def _addresses(values: list[Any]) -> tuple[str, ...]:
    out = []
    for v in values or []:
        if isinstance(v, dict):
            v = v.get("email", "")
        if v:
            out.append(str(v).lower())
    return tuple(out)


def _message(m: Message) -> MessageSnap | None:
    if m.sent_at is None:
        return None
    return MessageSnap(
        id=m.id,
        account_id=m.account_id,
        sent_at=m.sent_at,
        sender=m.from_addr.lower(),
        sender_name=m.from_name,
        direction=m.direction,
        to=_addresses(m.to_addrs),
        cc=_addresses(m.cc_addrs),
        thread_id=m.thread_id,
        provider_id=m.provider_id,
        rfc822_id=m.rfc822_id,
        references=tuple(str(r) for r in m.references or []),
        subject=m.subject,
        text=m.new_text,
        rapportd_tag=m.rapportd_tag,
        is_automated=m.is_automated or m.is_bulk,
    )


def load_snapshot(session: Session, owner: Owner, cfg: SuggestConfig, *, now: datetime) -> Snapshot:
    """Read what the rules need of one owner (bounded windows of messages and events)."""
    oid = owner.id
    accounts = session.scalars(
        select(Account).where(Account.owner_id == oid).order_by(Account.id)
    ).all()
    addresses = {owner.email.lower()}
    for a in accounts:
        addresses.add(a.address.lower())
        addresses.update(str(x).lower() for x in a.aliases or [])
    addresses.update(str(x).lower() for x in (owner.identity or {}).get("addresses", []))
    events = session.scalars(
        select(CalendarEvent).where(
            CalendarEvent.owner_id == oid,
            CalendarEvent.end_at >= now - timedelta(days=EVENT_PAST_DAYS),
            CalendarEvent.start_at <= now + timedelta(days=EVENT_FUTURE_DAYS),
        )
    ).all()
    messages = session.scalars(
        select(Message).where(
            Message.owner_id == oid,
            Message.deleted.is_(False),
            Message.duplicate_of.is_(None),
            Message.sent_at >= now - timedelta(days=MESSAGE_DAYS),
        )
    ).all()
    contacts = session.scalars(select(Contact).where(Contact.owner_id == oid)).all()
    identities = session.execute(
        select(ContactIdentity.address, ContactIdentity.contact_id).where(
            ContactIdentity.owner_id == oid
        )
    ).all()
    commitments = session.scalars(select(Commitment).where(Commitment.owner_id == oid)).all()
    holds = session.execute(
        select(Suggestion.hold_start, Suggestion.hold_end).where(
            Suggestion.owner_id == oid,
            Suggestion.hold_start.is_not(None),
            or_(Suggestion.status.in_(("proposed", "pending", "written", "accepted", "snoozed"))),
        )
    ).all()
    by_address: dict[str, int] = {}
    ident_map: dict[int, set[str]] = {}
    for c in contacts:
        if c.primary_address:
            by_address[c.primary_address.lower()] = c.id
            ident_map.setdefault(c.id, set()).add(c.primary_address.lower())
    for address, cid in identities:
        by_address[address.lower()] = cid
        ident_map.setdefault(cid, set()).add(address.lower())
    return Snapshot(
        owner_id=oid,
        owner_name=owner.display_name,
        owner_addresses=frozenset(addresses),
        cfg=cfg,
        accounts=tuple((a.id, a.provider, a.status) for a in accounts),
        meetings=tuple(m for m in (_meeting(e) for e in events) if m is not None),
        messages=tuple(
            sorted(
                (m for m in (_message(x) for x in messages) if m is not None),
                key=lambda m: m.sent_at,
            )
        ),
        contacts={
            c.id: ContactSnap(
                id=c.id,
                name=c.display_name,
                address=c.primary_address.lower(),
                addresses=frozenset(ident_map.get(c.id, set())),
                is_automated=c.is_automated,
                is_internal=c.is_internal,
                strength=c.strength,
                stage=c.stage,
                typical_gap_days=c.typical_gap_days,
                overdue_score=c.overdue_score,
                last_interaction_at=c.last_interaction_at,
                interaction_count=c.interaction_count,
                drift=_drift_of(c.analysis),
                greeting=_greeting_of(c.analysis),
            )
            for c in contacts
        },
        by_address=by_address,
        promises=tuple(
            PromiseSnap(
                id=c.id,
                key=c.dedupe_key,
                kind=c.kind,
                direction=c.direction,
                text=c.text,
                state=c.state,
                due_at=c.due_at,
                due_text=c.due_text,
                by_addr=c.by_addr.lower(),
                to_addr=c.to_addr.lower(),
                thread_id=c.thread_id,
                message_id=c.message_id,
                contact_id=c.contact_id,
                created_at=c.created_at,
                rule=str((c.reasons or {}).get("rule") or ""),
            )
            for c in commitments
        ),
        own_holds=tuple((s, e) for s, e in holds if s is not None and e is not None),
    )
