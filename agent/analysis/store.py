"""Store access for analysis.py: read messages/events/decisions as inference records, map
people (clusters of addresses) onto Contact rows, and upsert commitments.

Every query is filtered by ``owner_id``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, select, update
from sqlalchemy.orm import Session

from rapportd.agent.core import clock
from rapportd.agent.core.mailtext import own_words, quoted_text
from rapportd.agent.inference.names import fits, greeted_name, relayed_to
from rapportd.agent.inference.people import Decision, is_owner
from rapportd.agent.inference.types import Meeting, Msg, OwnerProfile, Participant
from rapportd.agent.store.models import (
    ACKNOWLEDGED_PREFIX,
    CalendarEvent,
    Commitment,
    Contact,
    ContactDecision,
    ContactIdentity,
    Feedback,
    Message,
    Owner,
    Suggestion,
)

Detector = Callable[..., list[Any]]


def parse_address(item: object) -> tuple[str, str]:
    """A stored address: ``{"email": .., "name": ..}`` (what connectors write) or a string."""
    if isinstance(item, dict):
        email, name = item.get("email"), item.get("name")
        return (
            (email if type(email) is str else str(email or "")).strip().lower(),
            (name if type(name) is str else str(name or "")).strip(),
        )
    return str(item or "").strip().lower(), ""


def json_values(texts: Sequence[str | None]) -> list[Any]:
    """Decode a JSON column's stored texts in one call (one ``json.loads`` per row costs
    more than the rest of a row's loading)."""
    return json.loads("[" + ",".join(t or "null" for t in texts) + "]") if texts else []


def load_messages(
    session: Session,
    owner_id: int,
    *,
    ids: Collection[int] | None = None,
    threads: Collection[str] | None = None,
    rfc822_ids: Collection[str] | None = None,
) -> tuple[list[Msg], dict[str, Counter[str]]]:
    """The owner's stored messages as :class:`Msg` (oldest first) and the display names the
    owner's own mail used for each recipient. With ``ids``, ``threads`` or ``rfc822_ids``:
    only the messages with one of those ids, thread ids or Message-IDs (an incremental
    analysis); address and label columns are read as text and decoded in one go."""
    m = Message
    cols = (
        m.id,
        m.sent_at,
        m.from_addr,
        m.from_name,
        cast(m.to_addrs, Text).label("to_json"),
        cast(m.cc_addrs, Text).label("cc_json"),
        m.direction,
        m.thread_id,
        m.subject,
        m.new_text,
        m.word_count,
        m.has_attachments,
        cast(m.labels, Text).label("labels_json"),
        m.list_id,
        m.list_unsubscribe,
        m.precedence,
        m.auto_submitted,
        m.rfc822_id,
        m.in_reply_to,
        m.tz_offset_minutes,
        m.account_id,
    )
    base = select(*cols).where(m.owner_id == owner_id, m.deleted.is_(False), m.sent_at.is_not(None))
    if ids is None and threads is None and rfc822_ids is None:
        rows = list(session.execute(base.order_by(m.sent_at, m.id)).all())
    else:
        found: dict[int, Any] = {}
        # by id: "owner_id + 0" keeps the owner filter but lets SQLite look rows up by
        # their primary key rather than walk the owner's index
        by_id = select(*cols).where(
            (m.owner_id + 0) == owner_id, m.deleted.is_(False), m.sent_at.is_not(None)
        )
        for query, column, values in (
            (by_id, m.id, sorted(ids or ())),
            (base, m.thread_id, sorted(set(threads or ()) - {""})),
            (base, m.rfc822_id, sorted(set(rfc822_ids or ()) - {""})),
        ):
            for i in range(0, len(values), 500):
                chunk = values[i : i + 500]
                for r in session.execute(query.where(column.in_(chunk))).all():
                    found[r.id] = r
        rows = sorted(found.values(), key=lambda r: (r.sent_at, r.id))
    tos = json_values([r.to_json for r in rows])
    ccs = json_values([r.cc_json for r in rows])
    labels = json_values([r.labels_json for r in rows])
    names: dict[str, Counter[str]] = defaultdict(Counter)
    out = []
    # rows unpacked as tuples, in the order of ``cols``: reading 20 columns of 400k rows by
    # name costs as much as the query
    for row, to_addrs, cc_addrs, labs in zip(rows, tos, ccs, labels, strict=True):
        (mid, sent_at, sender, sender_name, _, _, direction, thread_id, subject, text,
         word_count, has_attachments, _, list_id, list_unsubscribe, precedence,
         auto_submitted, rfc822_id, in_reply_to, tz_offset, account_id) = row  # fmt: skip
        rcpts, direct, shown = [], [], []
        out_dir = direction == "out"
        for is_to, items in ((True, to_addrs), (False, cc_addrs)):
            for item in items or ():
                addr, name = parse_address(item)
                if addr:
                    rcpts.append(addr)
                    if is_to:
                        direct.append(addr)
                    if name:
                        shown.append((addr, name))
                        if out_dir:
                            names[addr][name] += 1
        out.append(
            Msg(
                id=mid,
                sent_at=sent_at,
                sender=(sender or "").lower(),
                recipients=tuple(dict.fromkeys(rcpts)),
                direction=direction if direction in ("in", "out", "self") else "in",
                thread_id=thread_id or "",
                subject=subject or "",
                text=text or "",
                word_count=word_count or 0,
                sender_name=sender_name or "",
                has_attachments=bool(has_attachments),
                labels=tuple(labs or ()),
                list_id=list_id or "",
                list_unsubscribe=bool(list_unsubscribe),
                precedence=precedence or "",
                auto_submitted=auto_submitted or "",
                rfc822_id=rfc822_id or "",
                in_reply_to=in_reply_to or "",
                tz_offset_minutes=tz_offset,
                account_id=account_id,
                to=tuple(dict.fromkeys(direct)),
                recipient_names=tuple(shown),
            )
        )
    return out, names


def load_meetings(
    session: Session, owner_id: int, *, ids: Collection[int] | None = None
) -> list[Meeting]:
    """The owner's stored events as :class:`Meeting`; with ``ids``, only those."""
    e = CalendarEvent
    query = (
        select(
            e.id,
            e.start_at,
            e.end_at,
            e.summary,
            e.organizer,
            cast(e.attendees, Text).label("attendees_json"),
            e.status,
            e.self_response,
            e.is_recurring,
            e.series_id,
            e.account_id,
        )
        .where(e.deleted.is_(False), e.start_at.is_not(None))
        .order_by(e.id)
    )
    if ids is None:
        rows = list(session.execute(query.where(e.owner_id == owner_id)).all())
    else:
        wanted, rows = sorted(ids), []
        for i in range(0, len(wanted), 500):
            rows += session.execute(
                query.where((e.owner_id + 0) == owner_id, e.id.in_(wanted[i : i + 500]))
            ).all()
    out = []
    for r, attendees in zip(rows, json_values([r.attendees_json for r in rows]), strict=True):
        people = tuple(
            Participant(
                email=str(a.get("email") or "").lower(),
                name=str(a.get("name") or ""),
                response=str(a.get("response") or "needsAction"),
                is_self=bool(a.get("self") or a.get("is_self")),
            )
            for a in (attendees or [])
            if isinstance(a, dict)
        )
        out.append(
            Meeting(
                id=r.id,
                start=r.start_at,
                end=r.end_at or r.start_at,
                summary=r.summary or "",
                organizer=(r.organizer or "").lower(),
                attendees=people,
                status=r.status or "confirmed",
                self_response=r.self_response or "",
                is_recurring=bool(r.is_recurring),
                series_id=r.series_id or "",
                account_id=r.account_id,
            )
        )
    return out


def store_duplicates(
    session: Session,
    owner_id: int,
    copies: Mapping[int, int],
    *,
    among: Collection[int] | None = None,
) -> None:
    """Mark each stored copy with the message it duplicates (and clear stale marks), in
    batches. ``among``: judge only these message ids (an incremental analysis saw only
    them); None means all of the owner's messages."""
    marked = select(Message.id, Message.duplicate_of).where(
        Message.owner_id == owner_id, Message.duplicate_of.is_not(None)
    )
    current: dict[int, int | None] = {}
    if among is None:
        current.update(session.execute(marked).all())
    else:
        ids = sorted(among)
        by_id = select(Message.id, Message.duplicate_of).where(
            (Message.owner_id + 0) == owner_id, Message.duplicate_of.is_not(None)
        )  # the owner filter, with the rows looked up by primary key (see load_messages)
        for i in range(0, len(ids), 500):
            current.update(session.execute(by_id.where(Message.id.in_(ids[i : i + 500]))).all())
    changes = [
        {"mid": mid, "kept": None}
        for mid in sorted(set(current) - set(copies))
        if among is None or mid in among
    ]
    changes += [
        {"mid": mid, "kept": kept}
        for mid, kept in sorted(copies.items())
        if current.get(mid) != kept
    ]
    if not changes:
        return
    t = Message.__table__
    session.execute(
        update(t)
        .where(t.c.owner_id == owner_id, t.c.id == bindparam("mid"))
        # a mark the analysis derives is no new mail: updated_at stays (see load_delta)
        .values(duplicate_of=bindparam("kept"), updated_at=t.c.updated_at),
        changes,
    )


def load_decisions(session: Session, owner_id: int) -> list[Decision]:
    """The owner's merges and splits of two addresses (oldest first)."""
    rows = session.scalars(
        select(ContactDecision)
        .where(
            ContactDecision.owner_id == owner_id,
            ContactDecision.decision.in_(("merge", "split")),
        )
        .order_by(ContactDecision.created_at, ContactDecision.id)
    ).all()
    return [
        Decision(
            r.address_a.lower(), r.address_b.lower(), "merge" if r.decision == "merge" else "split"
        )
        for r in rows
    ]


DECISIONS = ("merge", "split", "me", "not_me")


def record_decision(
    session: Session, owner_id: int, decision: str, address_a: str, address_b: str = ""
) -> ContactDecision:
    """Store the owner's decision (a newer one on the same addresses replaces the older) and
    ask for an analysis: merges and splits re-cluster contacts, "me" / "not me" change who
    the owner is."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r} (one of {', '.join(DECISIONS)})")
    a, b = address_a.strip().lower(), address_b.strip().lower()
    if "@" not in a or (decision in ("merge", "split") and ("@" not in b or a == b)):
        raise ValueError(
            "give two different e-mail addresses"
            if b or decision in ("merge", "split")
            else "give an e-mail address"
        )
    if decision in ("merge", "split"):
        a, b = sorted((a, b))
    row = session.scalars(
        select(ContactDecision).where(
            ContactDecision.owner_id == owner_id,
            ContactDecision.address_a == a,
            ContactDecision.address_b == b,
        )
    ).first()
    if row is None:
        row = ContactDecision(owner_id=owner_id, address_a=a, address_b=b)
        session.add(row)
    row.decision = decision
    row.created_at = clock.now()
    owner = session.get(Owner, owner_id)
    if owner is not None:
        owner.analysis_due_at = clock.now()
    session.flush()
    return row


def load_owner_decisions(session: Session, owner_id: int) -> tuple[list[str], list[str]]:
    """(addresses the owner said are theirs, addresses the owner said are not), latest wins."""
    rows = session.scalars(
        select(ContactDecision)
        .where(
            ContactDecision.owner_id == owner_id,
            ContactDecision.decision.in_(("me", "not_me")),
        )
        .order_by(ContactDecision.created_at, ContactDecision.id)
    ).all()
    latest = {r.address_a.lower(): r.decision for r in rows}
    return (
        sorted(a for a, d in latest.items() if d == "me"),
        sorted(a for a, d in latest.items() if d == "not_me"),
    )


@dataclass
class Assignment:
    contacts: dict[str, Contact] = field(default_factory=dict)  # cluster key -> row
    contact_ids: dict[str, int] = field(default_factory=dict)
    dirty_keys: set[str] = field(default_factory=set)
    created: int = 0
    merged: int = 0


def assign_contacts(
    session: Session,
    owner_id: int,
    members: Mapping[str, list[str]],
    names: Mapping[str, str],
    *,
    full: bool = False,
    only: bool = False,
) -> Assignment:
    """Give every cluster of addresses one Contact row: reuse the row its addresses already
    point to, create one for a new person, fold rows together on a merge (the oldest row
    survives and inherits commitments, suggestions and feedback) and give a split-off
    address a row of its own. Touched rows are marked dirty. ``only``: ``members`` holds
    only some people (an incremental run), whole as the last analysis knew them, so only
    their addresses' rows are read."""
    if only:
        wanted = sorted({a for addrs in members.values() for a in addrs})
        found: list[ContactIdentity] = []
        for i in range(0, len(wanted), 500):
            found += session.scalars(
                select(ContactIdentity).where(
                    ContactIdentity.owner_id == owner_id,
                    ContactIdentity.address.in_(wanted[i : i + 500]),
                )
            ).all()
        idents = {i.address: i for i in found}
        contact_ids = sorted({i.contact_id for i in found})
        rows: dict[int, Contact] = {}
        for i in range(0, len(contact_ids), 500):
            rows.update(
                (c.id, c)
                for c in session.scalars(
                    select(Contact).where(
                        Contact.owner_id == owner_id, Contact.id.in_(contact_ids[i : i + 500])
                    )
                )
            )
    else:
        idents = {
            i.address: i
            for i in session.scalars(
                select(ContactIdentity).where(ContactIdentity.owner_id == owner_id)
            )
        }
        rows = {
            c.id: c for c in session.scalars(select(Contact).where(Contact.owner_id == owner_id))
        }
    out = Assignment()
    claimed: set[int] = set()
    moved_from: dict[int, int] = {}
    new: list[tuple[str, Contact]] = []
    for key in sorted(members):
        addrs = members[key]
        ids = sorted({idents[a].contact_id for a in addrs if a in idents} - claimed)
        display = next((names[a] for a in addrs if names.get(a)), "")
        if not ids:
            contact = Contact(
                owner_id=owner_id, display_name=display, primary_address=key, dirty=True
            )
            session.add(contact)
            new.append((key, contact))
            out.created += 1
        else:
            contact = rows[ids[0]]
            claimed.add(contact.id)
            if contact.primary_address not in addrs:
                contact.primary_address = key
                contact.dirty = True
            if display and contact.display_name != display:
                contact.display_name = display
        for a in addrs:
            ident = idents.get(a)
            if ident is None:
                ident = ContactIdentity(owner_id=owner_id, address=a, name=names.get(a, ""))
                ident.contact = contact
                session.add(ident)
                idents[a] = ident
                contact.dirty = True
            elif contact.id is None or ident.contact_id != contact.id:
                if ident.contact_id in rows:
                    rows[ident.contact_id].dirty = True
                    if contact.id is not None:
                        moved_from[ident.contact_id] = contact.id
                ident.contact = contact
                contact.dirty = True
        out.contacts[key] = contact
    session.flush()
    # Rows left without any identity were folded into another: hand over what points at them.
    used = {i.contact_id for i in idents.values()}
    if only and moved_from:  # identities this run did not read may still point at a row
        used |= set(
            session.scalars(
                select(ContactIdentity.contact_id).where(
                    ContactIdentity.owner_id == owner_id,
                    ContactIdentity.contact_id.in_(sorted(moved_from)),
                )
            ).all()
        )
    for old, survivor in moved_from.items():
        if old in used or old not in rows:
            continue
        for model in (Commitment, Suggestion, Feedback):
            session.execute(
                update(model)
                .where(model.owner_id == owner_id, model.contact_id == old)
                .values(contact_id=survivor)
                .execution_options(synchronize_session=False)
            )
        session.delete(rows[old])
        out.merged += 1
    session.flush()
    for key, contact in out.contacts.items():
        out.contact_ids[key] = contact.id
        if contact.dirty or full:
            out.dirty_keys.add(key)
    return out


def _assessor() -> Callable[..., Any] | None:
    """``fulfilment.assess`` when that module is installed, else None (states stay open)."""
    try:
        from rapportd.agent.inference.fulfilment import assess
    except ImportError:
        return None
    return assess


# Closing courtesies that invite, but do not ask for, an answer. They follow a delivery or an
# update ("The deck is attached, let me know what you think.") and an unanswered one is not a
# debt: nobody expects a reply to every "let me know if you have questions".
_COURTESY = re.compile(
    r"\blet (?:me|us) know (?:what you think|your thoughts|how (?:it|that) (?:goes|went)|"
    r"if (?:you|there) (?:have|are|need) (?:any )?(?:questions|comments|thoughts|feedback|"
    r"anything else)|if (?:anything|something) (?:is unclear|comes up|else comes up))\b|"
    r"^(?:any (?:questions|thoughts|feedback|comments)(?: or [a-z]+)?)\s*\??$",
    re.I,
)


def courtesy_invitation(kind: str, text: str) -> bool:
    """A "request" that is only a polite invitation to reply (see :data:`_COURTESY`)."""
    return kind == "request" and bool(_COURTESY.search(text.strip()))


def _addressee(m: Msg, profile: OwnerProfile) -> str:
    """The recipient the owner's message names as it opens ("Maureen - please schedule."),
    when exactly one recipient fits that name; "" otherwise."""
    if m.direction != "out" or not m.text:
        return ""
    name = greeted_name(m.text)
    if not name:
        return ""
    return _recipient_named(m, profile, name)


def _recipient_named(m: Msg, profile: OwnerProfile, name: str) -> str:
    fitting = [a for a in m.recipients if not is_owner(a, profile) and fits(name, a, m.name_of(a))]
    return fitting[0] if len(fitting) == 1 else ""


def _relayed(m: Msg, profile: OwnerProfile, text: str) -> tuple[bool, str]:
    """Whether the owner's message hands itself on ("Bonnie: Please forward to Michael
    Kirby.") and, if so, the recipient it is handed to ("" when that person is not on it):
    the owner's asks after that line are that person's, not the addressee's."""
    if m.direction != "out":
        return False, ""
    name = relayed_to(text)
    return (True, _recipient_named(m, profile, name)) if name else (False, "")


def commitment_key(msg: Msg, kind: str, text: str) -> str:
    """Stable across re-analysis and re-sync: the message's RFC 822 id (else its row id),
    the kind and the sentence, whitespace- and case-normalised."""
    ident = msg.rfc822_id or f"id:{msg.id}"
    norm = re.sub(r"\s+", " ", text).strip().lower()
    return hashlib.sha256(f"{ident}|{kind}|{norm}".encode()).hexdigest()[:40]


_SEEN: OrderedDict[tuple[Any, ...], tuple[str, list[Any]]] = OrderedDict()
_SEEN_LOCK = threading.Lock()
SEEN_MAX = 50_000  # messages whose detection a process remembers


def _detect_once(detect: Detector, m: Msg, tz: str) -> tuple[str, list[Any]]:
    """(own words, items) of ``m``: the detector runs once per text it has not seen in this
    process (a re-analysis re-judges a person's recent messages, whose text rarely
    changed). Keyed by everything the detector reads, and by the detector itself."""
    digest = hashlib.sha256(m.text.encode()).hexdigest()
    key: tuple[Any, ...] = (detect, digest, m.sent_at, tz, m.sender, m.recipients, m.subject)
    try:
        hash(key)
    except TypeError:  # a detector that cannot be a key: no memory
        key = ()
    with _SEEN_LOCK:
        hit = _SEEN.get(key) if key else None
        if hit is not None:
            _SEEN.move_to_end(key)
            return hit
    own = own_words(m.text)
    found = detect(
        own,
        sent_at=m.sent_at,
        tz=tz,
        sender=m.sender,
        recipients=m.recipients,
        subject=m.subject,
        already_stripped=True,
    )
    with _SEEN_LOCK:
        if key:
            _SEEN[key] = (own, found)
        while len(_SEEN) > SEEN_MAX:
            _SEEN.popitem(last=False)
    return own, found


def store_commitments(
    session: Session,
    owner_id: int,
    msgs: Sequence[Msg],
    profile: OwnerProfile,
    detect: Detector,
    *,
    contact_id_of: Mapping[str, int],
    since: datetime,
    now: datetime,
    meetings: Sequence[Meeting] = (),
    only: Collection[str] | None = None,
) -> int:
    """Run the detector on recent messages with text that involve the given contacts (of
    those, with ``only``, the messages that involve one of these addresses), judge
    each item against later mail (``fulfilment.assess``: open, kept, late, answered,
    unanswered) and upsert it. A commitment the owner voided stays void."""
    assess = _assessor()
    by_thread: dict[str, list[Msg]] = defaultdict(list)
    by_address: dict[str, list[Msg]] = defaultdict(list)
    if assess is not None:
        for msg in msgs:
            if msg.thread_id:
                by_thread[msg.thread_id].append(msg)
            for a in {msg.sender, *msg.recipients}:
                by_address[a].append(msg)
    count = 0
    existing = {
        c.dedupe_key: c
        for c in session.scalars(select(Commitment).where(Commitment.owner_id == owner_id))
    }
    for m in msgs:
        if not m.text or m.sent_at < since or m.sent_at > now or m.direction == "self":
            continue
        people = [m.sender] if m.direction == "in" else list(m.recipients)
        if not any(p in contact_id_of for p in people):
            continue
        if only is not None and not any(p in only for p in people):
            continue
        own, found = _detect_once(detect, m, profile.timezone)
        addressee = _addressee(m, profile)
        relayed, relay_to = _relayed(m, profile, own)
        for d in found:
            if courtesy_invitation(d.kind, d.text) or quoted_text(d.text):
                continue
            by = (getattr(d, "by", "") or "").strip().lower()
            to_all = [a.strip().lower() for a in (getattr(d, "to", "") or "").split(",")]
            to_all = [a for a in to_all if "@" in a] or list(m.recipients)
            by_owner = is_owner(by, profile) if "@" in by else m.direction == "out"
            if (
                d.kind == "request"
                and not by_owner
                and m.direction == "in"
                and not any(is_owner(a, profile) for a in (m.to or m.recipients))
            ):
                continue  # asked of the people in To:, not of the owner in Cc:
            if by_owner:
                others = [a for a in to_all if not is_owner(a, profile)]
                if relayed and d.kind == "request" and not relayed_to(d.text):
                    # the rest of a message handed on speaks to its new reader
                    if not relay_to:
                        continue  # asks someone who is not on the message
                    others = [relay_to]
                elif addressee and addressee in others:
                    others = [addressee]  # "Maureen - please schedule." asks Maureen
                other = next((a for a in others if a in contact_id_of), others[0] if others else "")
            else:
                other = by if "@" in by else m.sender
            key = commitment_key(m, d.kind, d.text)
            row = existing.get(key)
            if row is None:
                row = Commitment(owner_id=owner_id, dedupe_key=key, state="open")
                session.add(row)
                existing[key] = row
            row.message_id = m.id
            row.contact_id = contact_id_of.get(other)
            row.kind = d.kind
            row.direction = "by_owner" if by_owner else "to_owner"
            row.by_addr = (by if "@" in by else m.sender)[:320]
            mine = next((a for a in to_all if is_owner(a, profile)), next(iter(to_all), ""))
            row.to_addr = (other if by_owner else mine)[:320]
            row.text = d.text
            row.due_at = d.due
            row.due_text = d.due_text or ""
            row.confidence = float(d.confidence)
            row.thread_id = m.thread_id
            row.reasons = {**dict(getattr(d, "reasons", {}) or {}), "recipients": to_all[:20]}
            if assess is not None and row.state != "void":
                later = {x.id: x for x in by_thread.get(m.thread_id, []) if m.thread_id}
                later.update({x.id: x for x in by_address.get(other, [])})
                judged = assess(d, m, list(later.values()), now=now, meetings=meetings)
                row.state = judged.state
                row.resolved_by_message_id = judged.evidence_id
                row.reasons["fulfilment"] = json.loads(json.dumps(judged.reasons, default=str))
            count += 1
    session.flush()
    return count


def settle_acknowledged(session: Session, owner_id: int, *, now: datetime) -> int:
    """Judge the promises the owner made from a reply owed ("I'll come back to you by
    Thursday"): kept once the owner writes in the thread after the question with anything
    but that acknowledgement (its rapportd tag tells it apart), late once the date passed.
    Returns how many changed state."""
    rows = session.scalars(
        select(Commitment).where(
            Commitment.owner_id == owner_id,
            Commitment.dedupe_key.startswith(ACKNOWLEDGED_PREFIX),
            Commitment.state.in_(("open", "late")),
        )
    ).all()
    changed = 0
    for c in rows:
        reasons = dict(c.reasons or {})
        asked = session.get(Message, c.message_id) if c.message_id is not None else None
        since = asked.sent_at if asked is not None and asked.sent_at else c.created_at
        answer = None
        if c.thread_id:
            answer = session.scalar(
                select(Message.id)
                .where(
                    Message.owner_id == owner_id,
                    Message.thread_id == c.thread_id,
                    Message.direction == "out",
                    Message.deleted.is_(False),
                    Message.sent_at > since,
                    Message.rapportd_tag != str(reasons.get("ack_tag") or ""),
                )
                .order_by(Message.sent_at)
                .limit(1)
            )
        if answer is not None:
            c.state, c.resolved_by_message_id = "kept", answer
        elif c.due_at is not None and c.due_at < now and c.state == "open":
            c.state = "late"
        else:
            continue
        changed += 1
    return changed
