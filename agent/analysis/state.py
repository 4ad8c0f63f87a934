"""What an incremental analysis keeps of the owner's whole history (the ``analysis_states``
row), and what changed since the last analysis.

A re-analysis reads only the messages of the people something happened to; for everyone
else it takes from this state what the whole-history steps need:

members
    each person (cluster key) and their addresses, as the last analysis clustered them;
ids, events
    per person, the ids of the messages of every thread they are in and of the events
    they are invited to (what a re-analysis of that person reads);
samples
    per person, the pooled rhythm prior's sufficient statistics
    (:func:`rapportd.agent.inference.cadence.prior_sample`);
prior, full_at
    the prior the rows were last all scored with and when (a full run's): an incremental
    run that would move it more than :data:`PRIOR_TOLERANCE`, or that comes
    :data:`FULL_EVERY` after it, becomes a full run;
names, reply_as, automated
    display names per address, reply-as pairs (asked, answered) and automated people;
aging
    per person, what ages their overdue score without a full run (the last personal
    interaction and the drift threshold, or the rhythm's own kernels).

Every query is filtered by ``owner_id``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from rapportd.agent.analysis.store import json_values, parse_address
from rapportd.agent.store.models import (
    AnalysisState,
    CalendarEvent,
    Contact,
    ContactDecision,
    ContactIdentity,
    Message,
)

VERSION = 1
PRIOR_TOLERANCE = 0.02  # ln(days): a prior moved by more than 2 % asks for a full run
FULL_EVERY = timedelta(days=1)  # a full run at least this often (strength, stage age)


@dataclass
class State:
    members: dict[str, list[str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # packed: see pack_ids
    events: dict[str, str] = field(default_factory=dict)  # their events' ids, packed
    samples: dict[str, list[float]] = field(default_factory=dict)
    prior: list[float] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    reply_as: set[tuple[str, str]] = field(default_factory=set)
    automated: set[str] = field(default_factory=set)
    aging: dict[str, list[Any]] = field(default_factory=dict)
    full_at: str = ""  # when (ISO, on the process clock) the last full run started

    def ids_of(self, key: str) -> list[int]:
        return unpack_ids(self.ids.get(key, ""))

    def events_of(self, key: str) -> list[int]:
        return unpack_ids(self.events.get(key, ""))

    def key_of(self) -> dict[str, str]:
        return {a: k for k, addrs in self.members.items() for a in addrs}

    def as_dict(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "ids": self.ids,
            "events": self.events,
            "samples": self.samples,
            "prior": self.prior,
            "names": self.names,
            "reply_as": sorted([a, b] for a, b in self.reply_as),
            "automated": sorted(self.automated),
            "aging": self.aging,
            "full_at": self.full_at,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> State:
        return State(
            members={k: list(v) for k, v in d.get("members", {}).items()},
            ids={k: str(v) for k, v in d.get("ids", {}).items()},
            events={k: str(v) for k, v in d.get("events", {}).items()},
            samples={k: list(v) for k, v in d.get("samples", {}).items()},
            prior=list(d.get("prior", [])),
            names=dict(d.get("names", {})),
            reply_as={(str(a), str(b)) for a, b in d.get("reply_as", [])},
            automated=set(d.get("automated", [])),
            aging={k: list(v) for k, v in d.get("aging", {}).items()},
            full_at=str(d.get("full_at", "")),
        )


def pack_ids(ids: Iterable[int]) -> str:
    """Message ids as base64 of little-endian 64-bit integers: a person's list is decoded
    only when that person is re-analysed (a JSON list of every id cost most of the time a
    ten-person re-analysis took)."""
    return base64.b64encode(np.asarray(sorted(ids), dtype="<i8").tobytes()).decode("ascii")


def unpack_ids(packed: str) -> list[int]:
    return [int(x) for x in np.frombuffer(base64.b64decode(packed), dtype="<i8")]


def load_state(session: Session, owner_id: int) -> State | None:
    """The owner's state, or None when there is none of this version (a full run is due)."""
    row = session.scalars(select(AnalysisState).where(AnalysisState.owner_id == owner_id)).first()
    if row is None or row.version != VERSION or not row.state:
        return None
    return State.from_dict(row.state)


def save_state(session: Session, owner_id: int, state: State) -> None:
    row = session.scalars(select(AnalysisState).where(AnalysisState.owner_id == owner_id)).first()
    if row is None:
        row = AnalysisState(owner_id=owner_id)
        session.add(row)
    row.version = VERSION
    row.state = state.as_dict()


@dataclass
class Delta:
    """What was stored or changed since the last analysis started."""

    message_ids: set[int] = field(default_factory=set)
    event_ids: set[int] = field(default_factory=set)
    threads: set[str] = field(default_factory=set)
    replied_to: set[str] = field(default_factory=set)  # In-Reply-To ids of new messages
    addresses: set[str] = field(default_factory=set)  # everyone on new messages and events
    removed: bool = False  # a message or event was deleted: the set of people may shrink
    decided: bool = False  # the owner merged, split or said "me" / "not me"


def _people(items: Iterable[object]) -> set[str]:
    out = set()
    for item in items:
        addr, _ = parse_address(item)
        if addr:
            out.add(addr)
    return out


def load_delta(session: Session, owner_id: int, since: datetime) -> Delta:
    """Messages, events and decisions stored or changed since ``since`` (the one clock)."""
    m, e = Message, CalendarEvent
    out = Delta()
    rows = session.execute(
        select(
            m.id,
            m.deleted,
            m.sent_at,
            m.from_addr,
            cast(m.to_addrs, Text).label("to_json"),
            cast(m.cc_addrs, Text).label("cc_json"),
            m.thread_id,
            m.in_reply_to,
        ).where(m.owner_id == owner_id, m.updated_at > since)
    ).all()
    tos, ccs = json_values([r.to_json for r in rows]), json_values([r.cc_json for r in rows])
    for r, to, cc in zip(rows, tos, ccs, strict=True):
        if r.deleted:
            out.removed = True
            continue
        out.message_ids.add(r.id)
        if r.thread_id:
            out.threads.add(r.thread_id)
        if r.in_reply_to:
            out.replied_to.add(r.in_reply_to)
        out.addresses |= _people([r.from_addr, *(to or []), *(cc or [])])
    for ev in session.execute(
        select(e.id, e.deleted, e.organizer, e.attendees).where(
            e.owner_id == owner_id, e.updated_at > since
        )
    ).all():
        if ev.deleted:
            out.removed = True
            continue
        out.event_ids.add(ev.id)
        out.addresses |= _people([ev.organizer, *(ev.attendees or [])])
    out.decided = bool(
        session.scalar(
            select(func.count())
            .select_from(ContactDecision)
            .where(ContactDecision.owner_id == owner_id, ContactDecision.created_at > since)
        )
    )
    return out


def dirty_addresses(session: Session, owner_id: int) -> set[str]:
    """The addresses of contacts flagged for re-analysis (:func:`analysis.mark_dirty`)."""
    return set(
        session.scalars(
            select(ContactIdentity.address)
            .join(Contact, Contact.id == ContactIdentity.contact_id)
            .where(
                ContactIdentity.owner_id == owner_id,
                Contact.owner_id == owner_id,
                Contact.dirty.is_(True),
            )
        ).all()
    )
