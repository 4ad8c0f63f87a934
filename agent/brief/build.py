"""Build meeting briefs from a snapshot (pure: no I/O, no clock but ``now``).

For each upcoming meeting with people outside the owner's organisation (the thank-you
filters: not cancelled, not declined, not rapportd's own hold, not all-day, not large, not
internal-only; a recurring meeting gets a brief too), a :class:`~.model.Brief`:

- who is coming: a readable name, the organisation (their mail domain), the stage and the
  rhythm of the relationship, one line each;
- what the owner promised them and whether it is done; what they asked the owner and whether
  it was answered; what they promised the owner; what the owner asked them;
- the last two or three real topics (threads with their own or the owner's words);
- one thing to say or ask, from the facts above.

A fact is shown only when its message is in the snapshot and its sentence lies in the
author's own words of that message (:func:`rapportd.agent.core.segment.segment` ``.body``), and
the author is the person the fact is about (the owner for their promises and questions, the
attendee for theirs): never a line of a quoted reply or a forwarded message.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from rapportd.agent.brief.model import Attendee, Brief, Evidence, Fact, Suggestion, Topic
from rapportd.agent.core.mailtext import own_words
from rapportd.agent.core.segment import is_greeting
from rapportd.agent.inference.names import readable_name
from rapportd.agent.inference.people import PUBLIC_DOMAINS
from rapportd.agent.inference.sentences import split_sentences
from rapportd.agent.suggest.promise_rules import asks_for_answer, explicit_ask
from rapportd.agent.suggest.proposal import clean_subject
from rapportd.agent.suggest.rules import external_attendees, meeting_excluded, wrote_to_since
from rapportd.agent.suggest.snapshot import (
    ContactSnap,
    MeetingSnap,
    MessageSnap,
    PromiseSnap,
    Snapshot,
)
from rapportd.agent.suggest.timeutil import local_day_bounds

FACT_DAYS = 120  # promises and asks older than this are left out
DONE_DAYS = 30  # a kept promise or answered ask is shown while this recent
OPEN_DAYS = 30  # an open one too, unless its due date is this recent: older ones are most
# often done without a word rapportd can see, and "late" would be a wrong fact
RHYTHM_MIN_INTERACTIONS = 5  # below this the typical gap is the owner's prior, not theirs
MAX_OPEN = 3  # per kind of fact
MAX_DONE = 2
MAX_TOPICS = 3
TOPIC_GOOD_WORDS = 5  # the sentence shown for a topic: the first this long, if any
TOPIC_MIN_WORDS = 2  # a thread is a real topic when someone wrote this much of their own
THANKS_DAYS = 14  # a past meeting nobody thanked for, this recent, is something to say
# A line of a quoted or forwarded message's header that a client's format let through into
# the own text ("Please respond to", "-----Original Message-----", "From: ..."): never a fact.
HEADER_LINE = re.compile(
    r"(^\s*>)|(-{2,}\s*Original Message\s*-{2,})|(\bForwarded by\b)|(-{3,}\s*Forwarded)"
    r"|(\bPlease respond to\b)|(\bwrote:\s*$)"
    r"|(\bon \d{1,2}/\d{1,2}/\d{2,4},? \d{1,2}:\d{2}(:\d{2})?\s*[AP]M\b)"
    r"|(^\s*(From|Sent|To|Cc|Subject|Date)\s*:\s*\S)",
    re.I | re.M,
)

KINDS = {
    ("commitment", "by_owner"): "owner_promised",
    ("request", "to_owner"): "they_asked",
    ("commitment", "to_owner"): "they_promised",
    ("request", "by_owner"): "owner_asked",
}
DONE_STATES = frozenset({"kept", "answered"})


def brief_excluded(snap: Snapshot, m: MeetingSnap) -> str | None:
    """Why a meeting gets no brief (None if it gets one): the thank-you filters, except that
    a recurring meeting with people outside is briefed too."""
    reason = meeting_excluded(snap, m)
    if reason == "recurring meeting":
        return None if external_attendees(snap, m) else "internal meeting"
    return reason


def meetings_to_brief(
    snap: Snapshot,
    now: datetime,
    *,
    day: date | None = None,
    meeting_id: int | None = None,
) -> list[MeetingSnap]:
    """The meetings to brief, in order of start: one by id, the owner's local ``day``, or by
    default every one from ``now`` to the end of tomorrow (owner's zone)."""
    if meeting_id is not None:
        chosen = [m for m in snap.meetings if m.id == meeting_id]
    elif day is not None:
        chosen = [m for m in snap.meetings if m.start.astimezone(snap.cfg.tz).date() == day]
    else:
        _, end_today = local_day_bounds(now, snap.cfg.tz)
        _, end = local_day_bounds(end_today + timedelta(hours=1), snap.cfg.tz)
        chosen = [m for m in snap.meetings if now <= m.start < end]
    return sorted(
        (m for m in chosen if brief_excluded(snap, m) is None), key=lambda m: (m.start, m.id)
    )


def build_briefs(
    snap: Snapshot,
    now: datetime,
    *,
    day: date | None = None,
    meeting_id: int | None = None,
    resolved_by: Mapping[int, int] | None = None,
) -> list[Brief]:
    """Briefs for :func:`meetings_to_brief`. ``resolved_by`` maps a commitment id to the
    message that kept or answered it (the store's ``resolved_by_message_id``)."""
    return [
        build_brief(snap, m, now, resolved_by=resolved_by or {})
        for m in meetings_to_brief(snap, now, day=day, meeting_id=meeting_id)
    ]


# ----------------------------------------------------------------------------- one brief
def build_brief(
    snap: Snapshot, m: MeetingSnap, now: datetime, *, resolved_by: Mapping[int, int]
) -> Brief:
    people = external_attendees(snap, m)
    attendees = tuple(_attendee(snap, e, n, now) for e, n in people)
    owner_of = _addresses_of(snap, [a.email for a in attendees])
    facts = _facts(snap, owner_of, now, resolved_by)
    topics = _topics(snap, owner_of, now)
    return Brief(
        meeting_id=m.id,
        meeting_key=m.key,
        account_id=m.account_id,
        title=m.summary or "(no title)",
        start=m.start,
        end=m.end,
        timezone=snap.cfg.timezone,
        attendees=attendees,
        facts=facts,
        topics=topics,
        suggestion=_suggest(snap, m, attendees, facts, topics, owner_of, now),
    )


def organisation_of(address: str) -> str:
    """The organisation an address speaks for, as far as mail shows: its domain, or "personal
    address" for a public mail service (a gmail.com address says nothing about an employer)."""
    domain = address.rpartition("@")[2].lower()
    if not domain:
        return ""
    return "personal address" if domain in PUBLIC_DOMAINS else domain


def _name(snap: Snapshot, email: str, name: str) -> str:
    contact = snap.contact_for(email)
    for raw in (contact.name if contact else "", name):
        readable = readable_name(raw, email)
        if readable:
            return readable
    return ""


def _days(n: float) -> str:
    n = round(n)
    return "1 day" if n == 1 else f"{n} days"


def rhythm_of(contact: ContactSnap | None, now: datetime) -> str:
    """How often the owner and they are in touch, and when last ("" when never)."""
    if contact is None or contact.last_interaction_at is None or contact.interaction_count == 0:
        return ""
    parts = []
    n = contact.interaction_count
    if contact.typical_gap_days and n >= RHYTHM_MIN_INTERACTIONS:
        parts.append(f"usually in touch every {_days(contact.typical_gap_days)}")
    ago = (now - contact.last_interaction_at).total_seconds() / 86400
    last = "today" if ago < 1 else f"{_days(ago)} ago"
    parts.append(f"last in touch {last} ({n} interaction{'' if n == 1 else 's'})")
    return "; ".join(parts)


def _attendee(snap: Snapshot, email: str, name: str, now: datetime) -> Attendee:
    contact = snap.contact_for(email)
    rhythm = rhythm_of(contact, now)
    return Attendee(
        email=email,
        name=_name(snap, email, name),
        organisation=organisation_of(email),
        stage=contact.stage if contact else "",
        rhythm=rhythm,
        contact_id=contact.id if contact else None,
        first_meeting=not rhythm,
    )


def _addresses_of(snap: Snapshot, emails: Sequence[str]) -> dict[str, str]:
    """Every address of each attendee (their contact's identities) -> the attendee's email."""
    out: dict[str, str] = {}
    for e in emails:
        contact = snap.contact_for(e)
        for a in contact.addresses if contact else ():
            out.setdefault(a, e)
        out[e] = e
    return out


# ----------------------------------------------------------------------------- evidence
def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def own_body(msg: MessageSnap) -> str:
    """The author's own words of a message, without quoted or forwarded text or signature."""
    return own_words(msg.text)


def in_own_words(msg: MessageSnap, sentence: str) -> bool:
    """Whether ``sentence`` lies in the author's own words of ``msg`` (spacing and case
    aside)."""
    wanted = _norm(sentence)
    return bool(wanted) and wanted in _norm(own_body(msg))


def evidence_of(msg: MessageSnap, sentence: str = "") -> Evidence:
    return Evidence(
        message_id=msg.id,
        sent_at=msg.sent_at,
        sender=msg.sender,
        subject=clean_subject(msg.subject),
        sentence=" ".join(sentence.split()),
        thread_id=msg.thread_id,
        provider_id=msg.provider_id,
        rfc822_id=msg.rfc822_id,
        account_id=msg.account_id,
    )


# ----------------------------------------------------------------------------- facts
def _who(snap: Snapshot, p: PromiseSnap, owner_of: Mapping[str, str]) -> str:
    """The attendee a promise or ask concerns ("" when none of them)."""
    if p.direction == "by_owner":
        if p.to_addr in owner_of:
            return owner_of[p.to_addr]
        for email in set(owner_of.values()):
            contact = snap.contact_for(email)
            if contact is not None and p.contact_id == contact.id:
                return email
        return ""
    return owner_of.get(p.by_addr, "")


def _authored(
    snap: Snapshot, p: PromiseSnap, msg: MessageSnap, who: str, owner_of: Mapping[str, str]
) -> bool:
    """The message's author is the one the fact is about: the owner for their promises and
    questions, the attendee (any of their addresses) for theirs."""
    if p.direction == "by_owner":
        return msg.direction == "out" or msg.sender in snap.owner_addresses
    return msg.direction == "in" and owner_of.get(msg.sender) == who


def _fact(
    snap: Snapshot,
    p: PromiseSnap,
    owner_of: Mapping[str, str],
    now: datetime,
    resolved_by: Mapping[int, int],
) -> Fact | None:
    kind = KINDS.get((p.kind, p.direction))
    if kind is None or p.state == "void":
        return None
    if p.kind == "request" and not (explicit_ask(p) and asks_for_answer(p.text)):
        # bare questions, proposals, "let's" are small talk more often than not; a deed asked
        # ("please call me", "forward this to Michael") is done without a word back, so
        # "no answer seen" would say nothing
        return None
    if HEADER_LINE.search(p.text):
        return None
    who = _who(snap, p, owner_of)
    msg = snap.message(p.message_id)
    if not who or msg is None or msg.is_automated:
        return None
    if msg.sent_at > now or now - msg.sent_at > timedelta(days=FACT_DAYS):
        return None
    if not _authored(snap, p, msg, who, owner_of) or not in_own_words(msg, p.text):
        return None
    done = p.state in DONE_STATES
    resolver = snap.message(resolved_by.get(p.id)) if done else None
    if done and (resolver or msg).sent_at < now - timedelta(days=DONE_DAYS):
        return None
    if not done:
        recent = now - timedelta(days=OPEN_DAYS)
        if msg.sent_at < recent and (p.due_at is None or p.due_at < recent):
            return None
        if kind == "they_asked" and _owner_wrote_after(snap, msg):
            return None  # the owner wrote in that thread since: likely answered there
    return Fact(
        kind=kind,
        who=who,
        text=" ".join(p.text.split()),
        state=p.state,
        done=done,
        evidence=evidence_of(msg, p.text),
        due_at=p.due_at,
        due_text=p.due_text,
        resolved_by=evidence_of(resolver) if resolver is not None else None,
        commitment_id=p.id,
    )


def _owner_wrote_after(snap: Snapshot, msg: MessageSnap) -> bool:
    return any(
        m.direction == "out" and m.sent_at > msg.sent_at and not m.rapportd_tag
        for m in snap.thread(msg.thread_id)
    )


def _facts(
    snap: Snapshot, owner_of: Mapping[str, str], now: datetime, resolved_by: Mapping[int, int]
) -> tuple[Fact, ...]:
    by_kind: dict[str, list[Fact]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for p in snap.promises:
        fact = _fact(snap, p, owner_of, now, resolved_by)
        if fact is None or (fact.kind, _norm(fact.text)) in seen:
            continue
        seen.add((fact.kind, _norm(fact.text)))
        by_kind[fact.kind].append(fact)
    out: list[Fact] = []
    for kind in ("owner_promised", "they_asked", "they_promised", "owner_asked"):
        facts = sorted(by_kind[kind], key=lambda f: f.evidence.sent_at, reverse=True)
        out += [f for f in facts if not f.done][:MAX_OPEN]
        out += [f for f in facts if f.done][:MAX_DONE]
    return tuple(out)


# ----------------------------------------------------------------------------- topics
def _first_sentence(body: str) -> str:
    """The sentence that says what a message is about: in its first paragraph that says
    something (after the greeting), the first sentence of five words or more, else its first
    of two or more. Later paragraphs are not searched: after "See below." often comes a
    pasted article, whose sentences are not the author's words."""
    paragraphs = re.split(r"\n\s*\n", body)
    for para in paragraphs:
        lines = [ln for ln in para.splitlines() if ln.strip() and not is_greeting(ln.strip())]
        sentences = [s for s in split_sentences("\n".join(lines)) if not HEADER_LINE.search(s)]
        for least in (TOPIC_GOOD_WORDS, TOPIC_MIN_WORDS):
            for sentence in sentences:
                if len(sentence.split()) >= least:
                    return sentence
    return ""


def _topics(snap: Snapshot, owner_of: Mapping[str, str], now: datetime) -> tuple[Topic, ...]:
    threads: dict[str, list[MessageSnap]] = defaultdict(list)
    for msg in snap.messages:
        if msg.is_automated or msg.rapportd_tag or msg.sent_at > now:
            continue
        theirs = msg.direction == "in" and msg.sender in owner_of
        ours = msg.direction == "out" and any(a in owner_of for a in msg.recipients)
        if theirs or ours:
            threads[msg.thread_id or f"subject:{_norm(clean_subject(msg.subject))}"].append(msg)
    topics: list[Topic] = []
    for msgs in threads.values():
        subject = clean_subject(msgs[-1].subject)
        if not subject:
            continue
        latest = None
        for msg in reversed(msgs):
            body = own_body(msg)
            sentence = _first_sentence(body)
            if len(body.split()) >= TOPIC_MIN_WORDS and sentence:
                latest = evidence_of(msg, sentence)
                break
        if latest is None:
            continue  # forwards and one-word replies: nothing of their own to go on
        topics.append(
            Topic(
                subject=subject,
                thread_id=msgs[-1].thread_id,
                last_at=msgs[-1].sent_at,
                messages=len(msgs),
                evidence=latest,
            )
        )
    out: list[Topic] = []
    for t in sorted(topics, key=lambda t: t.last_at, reverse=True):
        if _norm(t.subject) not in {_norm(x.subject) for x in out}:
            out.append(t)
    return tuple(out[:MAX_TOPICS])


# ----------------------------------------------------------------------------- suggestion
def _quote(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _local(snap: Snapshot, at: datetime) -> str:
    return f"{at.astimezone(snap.cfg.tz):%a %d %b}"


def _first(snap: Snapshot, attendees: Sequence[Attendee], email: str) -> str:
    a = next((x for x in attendees if x.email == email), None)
    return snap.greeting_for(email, a.name if a else "") or (a.name if a else "") or email


def _thanks_owed(
    snap: Snapshot, m: MeetingSnap, owner_of: Mapping[str, str], now: datetime
) -> MeetingSnap | None:
    """A recent past meeting with one of them that the owner has not written about since."""
    for past in sorted(snap.meetings, key=lambda x: x.start, reverse=True):
        if past.id == m.id or not (now - timedelta(days=THANKS_DAYS) <= past.end <= now):
            continue
        if meeting_excluded(snap, past) not in (None, "recurring meeting"):
            continue
        met = {e for e, _ in external_attendees(snap, past)} & set(owner_of)
        if met and not wrote_to_since(snap, set(owner_of), past.start):
            return past
    return None


def _suggest(
    snap: Snapshot,
    m: MeetingSnap,
    attendees: Sequence[Attendee],
    facts: Sequence[Fact],
    topics: Sequence[Topic],
    owner_of: Mapping[str, str],
    now: datetime,
) -> Suggestion:
    open_ = [f for f in facts if not f.done]

    def pick(kind: str) -> Fact | None:
        found = [f for f in open_ if f.kind == kind]
        found.sort(key=lambda f: (f.state != "late", f.due_at or f.evidence.sent_at))
        return found[0] if found else None

    promise = pick("owner_promised")
    if promise is not None:
        due = f" (due {_local(snap, promise.due_at)})" if promise.due_at else ""
        late = promise.state == "late" or (promise.due_at is not None and promise.due_at < now)
        return Suggestion(
            text=f"Say where “{_quote(promise.text)}” stands{due}: bring it, or give "
            f"{_first(snap, attendees, promise.who)} a new date."
            if late
            else f"Say where “{_quote(promise.text)}” stands{due}.",
            reason=f"You promised it on {_local(snap, promise.evidence.sent_at)} and no "
            "delivery has been seen.",
            evidence=promise.evidence,
        )
    asked = next(
        (f for f in [pick("they_asked")] if f is not None and asks_for_answer(f.text)), None
    )
    if asked is not None:
        return Suggestion(
            text=f"Answer {_first(snap, attendees, asked.who)}'s question: “{_quote(asked.text)}”",
            reason=f"They asked on {_local(snap, asked.evidence.sent_at)}; no answer from you "
            "has been seen.",
            evidence=asked.evidence,
        )
    past = _thanks_owed(snap, m, owner_of, now)
    if past is not None:
        return Suggestion(
            text=f"Thank them for “{past.summary or 'your last meeting'}” "
            f"({_local(snap, past.start)}).",
            reason="You met them then and have not written to them since.",
        )
    theirs = pick("they_promised")
    if theirs is not None:
        return Suggestion(
            text=f"Ask {_first(snap, attendees, theirs.who)} where “{_quote(theirs.text)}” stands.",
            reason=f"They promised it on {_local(snap, theirs.evidence.sent_at)}; it has not "
            "been seen.",
            evidence=theirs.evidence,
        )
    question = pick("owner_asked")
    if question is not None and asks_for_answer(question.text):
        return Suggestion(
            text=f"Follow up on your question: “{_quote(question.text)}”",
            reason=f"You asked on {_local(snap, question.evidence.sent_at)}; no answer has "
            "been seen.",
            evidence=question.evidence,
        )
    if topics:
        t = topics[0]
        return Suggestion(
            text=f"Pick up where you left off: “{t.subject}” ({_local(snap, t.last_at)}).",
            reason="Your latest conversation with them.",
            evidence=t.evidence,
        )
    names = ", ".join(a.name or a.email for a in attendees)
    if any(not a.first_meeting for a in attendees):
        return Suggestion(
            text=f"Ask {names} what has changed for them since you were last in touch, and listen.",
            reason="Nothing open between you, and no recent conversation with words of its own.",
        )
    return Suggestion(
        text=f"A first conversation: ask {names} what matters most to them right now, and listen.",
        reason="No mail with them in the last months.",
    )
