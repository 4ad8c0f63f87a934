"""The interaction timeline with each contact, weighted by how personal each interaction is.

An interaction is one message the owner sent to the contact, one message the contact sent
the owner, or one meeting actually held (not cancelled, not declined by the owner, not
declined by the contact, already started). Its weight says how personal it was:

=====================  =======  ========
others involved        mail     meeting
=====================  =======  ========
1 (one-to-one)         1.0      1.5
2-3 (small group)      0.6      0.9
4-7                    0.3      0.4
8 or more (a list)     0.1      0.1
=====================  =======  ========

Cadence uses interactions of weight >= :data:`PERSONAL_WEIGHT` only (being on the same big
list every week is not a weekly relationship); strength uses all of them, weighted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rapportd.agent.inference.people import is_owner, message_signals
from rapportd.agent.inference.types import Meeting, Msg, OwnerProfile, Participant

Kind = Literal["sent", "received", "meeting"]
PERSONAL_WEIGHT = 0.3


@dataclass(frozen=True, slots=True)
class Interaction:
    contact: str  # the contact's key (see people.Identities)
    at: datetime
    kind: Kind
    weight: float
    audience: int  # people involved besides the owner
    words: int = 0
    source_id: int = 0  # message or event id
    thread_id: str = ""


def mail_weight(audience: int) -> float:
    if audience <= 1:
        return 1.0
    if audience <= 3:
        return 0.6
    if audience <= 7:
        return 0.3
    return 0.1


def meeting_weight(audience: int) -> float:
    if audience <= 1:
        return 1.5
    if audience <= 3:
        return 0.9
    if audience <= 7:
        return 0.4
    return 0.1


def meeting_held(m: Meeting, now: datetime) -> bool:
    return m.status != "cancelled" and m.self_response != "declined" and m.start <= now


def build_timeline(
    msgs: Sequence[Msg],
    meetings: Sequence[Meeting],
    profile: OwnerProfile,
    contact_of: Mapping[str, str] | Callable[[str], str | None],
    *,
    now: datetime,
    excluded: frozenset[str] | set[str] = frozenset(),
) -> dict[str, list[Interaction]]:
    """Every contact's interactions, oldest first.

    ``contact_of`` maps an address to its contact key (None or missing: not a contact);
    ``excluded`` holds contact keys to leave out (automated senders). Messages that carry
    bulk signals and auto-replies are not interactions.
    """
    lookup = contact_of if callable(contact_of) else contact_of.get
    out: dict[str, list[Interaction]] = defaultdict(list)

    def key(addr: str) -> str | None:
        if not addr or is_owner(addr, profile):
            return None
        k = lookup(addr.lower())
        return None if k is None or k in excluded else k

    for m in msgs:
        if m.sent_at > now or m.direction == "self":
            continue
        if m.direction == "in":
            if message_signals(m):
                continue
            k = key(m.sender)
            if k is None:
                continue
            others = {r for r in m.recipients if not is_owner(r, profile)} - {m.sender}
            audience = 1 + len(others)
            out[k].append(
                Interaction(
                    k,
                    m.sent_at,
                    "received",
                    mail_weight(audience),
                    audience,
                    m.word_count,
                    m.id,
                    m.thread_id,
                )
            )
        else:
            people = {r for r in m.recipients if not is_owner(r, profile)}
            keys = {k for k in (key(r) for r in people) if k is not None}
            for k in sorted(keys):
                out[k].append(
                    Interaction(
                        k,
                        m.sent_at,
                        "sent",
                        mail_weight(len(people)),
                        len(people),
                        m.word_count,
                        m.id,
                        m.thread_id,
                    )
                )
    for mt in meetings:
        if not meeting_held(mt, now):
            continue
        attending = [
            p
            for p in mt.attendees
            if not p.is_self and not is_owner(p.email, profile) and p.response != "declined"
        ]
        emails = {p.email.lower() for p in attending}
        org = (mt.organizer or "").lower()
        if org and org not in emails and not is_owner(org, profile):
            # Graph (and some invites) list the organiser apart from the attendees; the
            # organiser of a held meeting took part in it.
            attending.append(Participant(email=org, response="accepted"))
        keys = {k for k in (key(p.email) for p in attending) if k is not None}
        for k in sorted(keys):
            out[k].append(
                Interaction(
                    k,
                    mt.start,
                    "meeting",
                    meeting_weight(len(attending)),
                    len(attending),
                    0,
                    mt.id,
                    "",
                )
            )
    for items in out.values():
        items.sort(key=lambda i: (i.at, i.kind, i.source_id))
    return dict(out)


def personal(interactions: Sequence[Interaction]) -> list[Interaction]:
    return [i for i in interactions if i.weight >= PERSONAL_WEIGHT]
