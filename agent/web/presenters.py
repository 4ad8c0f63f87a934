"""Rows -> what a page shows. Pure where it can be: the only reads are owner-scoped ones
through :mod:`rapportd.agent.web.queries`.

A :class:`Card` is one suggestion as the review page shows it: the draft or the hold's
time, and the reasons in plain words (the meeting it follows, the promise quoted with its
due date and a link to the thread, the contact's rhythm with a small chart, the stage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from rapportd.agent.store import links
from rapportd.agent.store.models import Account, Commitment, Contact, Message, Suggestion
from rapportd.agent.store.review import basis_text, day, when, zone
from rapportd.agent.suggest.config import HOLD_KINDS
from rapportd.agent.suggest.feedback import person_edited
from rapportd.agent.web import queries
from rapportd.agent.web.charts import interaction_chart, rhythm_sentence

GROUPS: list[tuple[str, str, frozenset[str]]] = [
    ("thank_you", "Thank-you drafts", frozenset({"thank_you"})),
    ("holds", "Holds to accept", frozenset({"promise_hold", "reconnect_hold", "prep_hold"})),
    ("promises", "Promises due", frozenset({"promise_follow_up", "nudge"})),
    ("replies", "Replies owed", frozenset({"reply_needed"})),
    ("check_ins", "Check-ins", frozenset({"check_in"})),
]
# The same groups, named for what they were once they are no longer waiting (snoozed, done).
GROUP_LABELS_DONE = {
    "thank_you": "Thank-you drafts",
    "holds": "Holds",
    "promises": "Promises",
    "replies": "Replies",
    "check_ins": "Check-ins",
}
KIND_SHORT = {
    "thank_you": "Thank-you",
    "promise_hold": "Hold",
    "promise_follow_up": "Follow-up",
    "reply_needed": "Reply",
    "nudge": "Nudge",
    "check_in": "Check-in",
    "reconnect_hold": "Hold",
    "prep_hold": "Prep",
}
KIND_LABELS = {
    "thank_you": "Thank-you draft",
    "promise_hold": "Hold for a promise",
    "promise_follow_up": "Promise follow-up draft",
    "reply_needed": "Reply draft",
    "nudge": "Nudge draft",
    "check_in": "Check-in draft",
    "reconnect_hold": "Hold to reconnect",
    "prep_hold": "Prep hold before a meeting",
}
STATUS_LABELS = {
    "proposed": "not yet in your mailbox",
    "pending": "being written to your mailbox",
    "written": "in your mailbox",
    "accepted": "accepted",
    "sent": "sent",
    "sent_edited": "sent (edited)",
    "dismissed": "dismissed",
    "snoozed": "snoozed",
    "expired": "expired",
    "moot": "no longer needed",
}
HOLD_STATUS_LABELS = {
    "proposed": "not yet in your calendar",
    "pending": "being written to your calendar",
    "written": "in your calendar",
    "accepted": "accepted: in your calendar",
}
LIVE = ("proposed", "pending", "written", "snoozed")
# The six stages of a relationship in plain words (docs/INFERENCE.md, "Stage").
STAGE_WORDS = {
    "acknowledge": "you have been in touch",
    "understanding": "you write both ways",
    "acceptance": "regular, from both sides",
    "respect": "both answer within days, or you met",
    "trust": "months of contact, promises kept",
    "bond": "close and long-standing",
}


def group_of(kind: str) -> str:
    for key, _label, kinds in GROUPS:
        if kind in kinds:
            return key
    return "check_ins"


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def address_text(item: Any) -> str:
    if isinstance(item, list | tuple) and item:
        email, name = str(item[0]), str(item[1]) if len(item) > 1 else ""
    elif isinstance(item, dict):
        email, name = str(item.get("email", "")), str(item.get("name", ""))
    else:
        email, name = str(item), ""
    return f"{name} <{email}>" if name else email


@dataclass
class Fact:
    label: str
    text: str
    link: str | None = None
    link_text: str = ""


@dataclass
class Card:
    id: int
    kind: str
    kind_label: str
    group: str
    title: str
    status: str
    status_label: str
    created: str
    is_hold: bool
    hold_when: str = ""
    to: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    why: str = ""
    basis: str = ""  # "Based on the last 14 days …" while the older history was syncing
    facts: list[Fact] = field(default_factory=list)
    chart: str = ""
    contact_id: int | None = None
    contact_name: str = ""
    open_link: str | None = None
    open_label: str = ""
    person_edited: bool = False
    snoozed_until: str = ""
    live: bool = True
    provider: str = "your mailbox"
    kind_short: str = ""
    person: str = ""
    reason_line: str = ""
    when_line: str = ""
    to_text: str = ""
    snooze_note: str = ""
    promise_offer: str = ""  # a reply owed: "Hold time to answer by Thursday 10 December"
    promise_made: str = ""


@dataclass
class CardContext:
    """What building cards needs, fetched once per page."""

    db: Session
    owner_id: int
    tz: str
    now: datetime
    accounts: dict[int, Account]
    contacts: dict[int, Contact]
    ops: dict[int, list[Any]] = field(default_factory=dict)  # suggestion id -> its outbox rows
    commitments: dict[int, Commitment] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)


def card_context(
    db: Session, owner_id: int, tz: str, now: datetime, rows: list[Suggestion]
) -> CardContext:
    """Everything the cards of ``rows`` read, in a handful of queries whatever their number."""
    accounts = {a.id: a for a in queries.accounts_of(db, owner_id)}
    ids = {s.contact_id for s in rows if s.contact_id is not None}
    commitment_ids = {s.commitment_id for s in rows if s.commitment_id is not None}
    commitments = queries.rows_by_id(db, Commitment, owner_id, commitment_ids)
    message_ids = {s.reply_to_message_id for s in rows if s.reply_to_message_id is not None}
    message_ids |= {c.message_id for c in commitments.values() if c.message_id is not None}
    messages = queries.rows_by_id(db, Message, owner_id, message_ids)
    ops = queries.operations_of(db, owner_id, [s.id for s in rows])
    contacts = queries.contacts_by_id(db, owner_id, ids)
    return CardContext(db, owner_id, tz, now, accounts, contacts, ops, commitments, messages)


def _source_message(ctx: CardContext, s: Suggestion, c: Commitment | None) -> Message | None:
    mid = c.message_id if c is not None and c.message_id else s.reply_to_message_id
    if mid is None:
        return None
    msg = ctx.messages.get(mid) or ctx.db.get(Message, mid)
    return msg if msg is not None and msg.owner_id == ctx.owner_id else None


def _quote(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return f"“{text[: limit - 1]}…”" if len(text) > limit else f"“{text}”"


def _promise_facts(ctx: CardContext, s: Suggestion, account: Account | None) -> list[Fact]:
    r = s.reasons or {}
    commitment = None
    if s.commitment_id:
        commitment = ctx.commitments.get(s.commitment_id) or ctx.db.get(Commitment, s.commitment_id)
    if commitment is not None and commitment.owner_id != ctx.owner_id:
        commitment = None
    msg = _source_message(ctx, s, commitment)
    if msg is not None:
        account = ctx.accounts.get(msg.account_id, account)
    thread = (commitment.thread_id if commitment else "") or (msg.thread_id if msg else "")
    link = links.thread_link(account, thread_id=thread, message_id=msg.provider_id if msg else "")
    link_text = f"the thread in {links.provider_name(account)}"
    facts = []
    for key, label in (
        ("promise", "You promised"),
        ("request", "They asked"),
        ("quoted", "Quoted"),
    ):
        if r.get(key):
            facts.append(Fact(label, _quote(str(r[key])), link, link_text))
    due = _parse(r.get("due_at")) or (commitment.due_at if commitment else None)
    if due is not None and r.get("promise"):
        overdue = " (passed)" if due < ctx.now else ""
        facts.append(Fact("Due", day(due, ctx.tz) + overdue))
    asked = _parse(r.get("asked_at"))
    if asked is not None:
        waited = r.get("business_days")
        extra = f", unanswered for {waited} business days" if waited else ""
        facts.append(Fact("Asked on", day(asked, ctx.tz) + extra))
    if not facts and link:
        facts.append(Fact("Thread", "", link, link_text))
    return facts


def build_card(ctx: CardContext, s: Suggestion, *, with_chart: bool = True) -> Card:
    account = ctx.accounts.get(s.account_id) if s.account_id is not None else None
    contact = ctx.contacts.get(s.contact_id) if s.contact_id is not None else None
    r = s.reasons or {}
    is_hold = s.kind in HOLD_KINDS
    labels = HOLD_STATUS_LABELS if is_hold else {}
    card = Card(
        id=s.id,
        kind=s.kind,
        kind_label=KIND_LABELS.get(s.kind, s.kind),
        group=group_of(s.kind),
        title=s.title,
        status=s.status,
        status_label=labels.get(s.status) or STATUS_LABELS.get(s.status, s.status),
        created=when(s.created_at, ctx.tz),
        is_hold=is_hold,
        to=[address_text(a) for a in (s.to_addrs or [])],
        subject=s.subject,
        body=s.body,
        why=str(r.get("why", "")),
        contact_id=contact.id if contact else None,
        contact_name=(contact.display_name or contact.primary_address) if contact else "",
        live=s.status in LIVE,
        provider=links.provider_name(account),
        kind_short=KIND_SHORT.get(s.kind, s.kind),
        to_text=", ".join(address_text(a) for a in (s.to_addrs or [])),
    )
    card.basis = basis_text(r)
    card.person = card.contact_name or (_name_of(s.to_addrs[0]) if s.to_addrs else "")
    reply_by = _parse(r.get("reply_by_at")) if s.kind == "reply_needed" else None
    if reply_by is not None:
        day = f"{reply_by.astimezone(zone(ctx.tz)):%A %-d %B}"
        if r.get("promise_id"):
            card.promise_made = (
                f"You promised an answer by {day}: a hold to write it is placed before then."
            )
        elif card.live and reply_by > ctx.now:
            card.promise_offer = f"Hold time to answer by {day}"
    if is_hold:
        end = f" – {s.hold_end.astimezone(zone(ctx.tz)):%H:%M}" if s.hold_end else ""
        card.hold_when = when(s.hold_start, ctx.tz) + end
    if s.status == "snoozed" and s.snoozed_until:
        card.snoozed_until = when(s.snoozed_until, ctx.tz)
    if r.get("meeting") is not None:
        ended = _parse(r.get("ended_at"))
        card.facts.append(
            Fact("Meeting", f"{r.get('meeting') or 'untitled'}, ended {when(ended, ctx.tz)}")
        )
    card.facts += _promise_facts(ctx, s, account)
    if contact is not None:
        silence = (
            (ctx.now - contact.last_interaction_at).days if contact.last_interaction_at else None
        )
        if r.get("silence_days") is not None:
            silence = int(r["silence_days"])
        rhythm = rhythm_sentence(r.get("typical_gap_days") or contact.typical_gap_days, silence)
        if rhythm:
            card.facts.append(Fact("Rhythm", rhythm))
        stage = str(r.get("stage") or contact.stage or "")
        if stage:
            words = STAGE_WORDS.get(stage)
            card.facts.append(Fact("Stage", f"{stage} ({words})" if words else stage))
        if with_chart:
            addresses = queries.contact_addresses(ctx.db, ctx.owner_id, contact)
            points = queries.interactions(
                ctx.db, ctx.owner_id, addresses, since=ctx.now - timedelta(weeks=52)
            )
            card.chart = interaction_chart(
                points,
                end=ctx.now,
                expected_at=contact.next_expected_at,
                label=f"Interactions with {card.contact_name}",
            )
    ops = ctx.ops.get(s.id)
    if ops is None:
        ops = queries.operations_for(ctx.db, ctx.owner_id, s.id)
    create = next((o for o in ops if o.op in ("create_draft", "create_hold")), None)
    card.person_edited = person_edited(create)
    in_mailbox = create is not None and create.state in ("written", "sent", "sent_edited")
    in_mailbox = in_mailbox or (create is not None and create.state in ("confirmed", "moved"))
    if in_mailbox or s.status in ("accepted", "written"):
        app = links.calendar_name(account) if is_hold else card.provider
        what = "hold" if is_hold else ("message" if s.status.startswith("sent") else "draft")
        if create is not None and create.web_link:
            card.open_link = create.web_link
            card.open_label = f"Open the {what} in {app}"
        elif is_hold:
            card.open_link = links.calendar_link(account, s.hold_start)
            card.open_label = f"Open the day in {app}"
        else:
            card.open_link = links.drafts_link(account)
            card.open_label = f"Open the drafts in {app}"
    card.reason_line = card.why or next((f"{f.label}: {f.text}" for f in card.facts), "")
    card.when_line = (
        hold_span(s.hold_start, s.hold_end, ctx.tz, ctx.now)
        if is_hold
        else short_when(s.created_at, ctx.tz, ctx.now)
    )
    if s.status == "snoozed":
        card.status_label = (
            f"snoozed until {card.snoozed_until}" if card.snoozed_until else "snoozed"
        )
    card.snooze_note = snooze_note(is_hold, card.provider, create, card.person_edited)
    return card


def snooze_note(is_hold: bool, provider: str, create: Any, touched: bool) -> str:
    """What a snooze does to the item in the mailbox, said before and after it."""
    if is_hold:
        return "The hold stays in your calendar while snoozed."
    if touched:
        return f"You changed this draft in {provider}: it stays there while snoozed."
    if create is not None and create.state in ("written", "writing", "snoozed"):
        return (
            f"The draft leaves {provider} while snoozed and is written again when the snooze ends."
        )
    return "Nothing is written to your mailbox until the snooze ends."


def short_when(dt: datetime | None, tz: str, now: datetime) -> str:
    """A moment in the owner's zone, as short as it can be: 14:05 today, else "Tue 9 Dec"."""
    if dt is None:
        return ""
    local, today = dt.astimezone(zone(tz)), now.astimezone(zone(tz))
    if local.date() == today.date():
        return f"{local:%H:%M}"
    if local.year == today.year:
        return f"{local:%a} {local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


def hold_span(start: datetime | None, end: datetime | None, tz: str, now: datetime) -> str:
    """A hold's time in the owner's zone, short: "Fri 4 Dec 09:30–10:00", "today 14:00–15:00"."""
    if start is None:
        return ""
    local, today = start.astimezone(zone(tz)), now.astimezone(zone(tz))
    day_text = "today" if local.date() == today.date() else short_when(start, tz, now)
    until = f"–{end.astimezone(zone(tz)):%H:%M}" if end is not None else ""
    return f"{day_text} {local:%H:%M}{until}"


def _name_of(item: Any) -> str:
    if isinstance(item, list | tuple) and item:
        return str(item[1]) if len(item) > 1 and item[1] else str(item[0])
    return str(item)


def grouped(cards: list[Card], view: str = "inbox") -> list[tuple[str, str, list[Card]]]:
    """(key, label, cards) for every group, in the page's fixed order, cards newest first;
    waiting ones are named for what they ask ("Holds to accept"), others for what they were."""
    return [
        (
            key,
            label if view == "inbox" else GROUP_LABELS_DONE[key],
            [c for c in cards if c.group == key],
        )
        for key, label, _ in GROUPS
    ]


def card_json(card: Card) -> dict[str, Any]:
    out = {k: v for k, v in card.__dict__.items() if k not in ("chart", "facts")}
    out["facts"] = [f.__dict__ for f in card.facts]
    return out
