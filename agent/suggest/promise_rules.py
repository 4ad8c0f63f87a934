"""Rules about promises and requests (pure): promise_hold, promise_follow_up, reply_needed,
nudge. They read Commitment rows as :class:`PromiseSnap` values.

Directions: a ``commitment`` ``by_owner`` is a promise the owner made; ``to_owner`` one made
to the owner. A ``request`` ``to_owner`` was asked of the owner; ``by_owner`` the owner asked.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from rapportd.agent.inference.commitments import WEAK_ASK_RULES
from rapportd.agent.suggest.config import SuggestConfig
from rapportd.agent.suggest.phrasing import (
    ask_phrase,
    date_words,
    day_phrase,
    promised_object,
    pronoun,
    their_object,
    topic_of,
)
from rapportd.agent.suggest.proposal import Proposal, clean_subject, evidence_of
from rapportd.agent.suggest.rules import busy_intervals
from rapportd.agent.suggest.snapshot import MessageSnap, PromiseSnap, Snapshot
from rapportd.agent.suggest.timeutil import add_business_days, business_days_elapsed, free_slots

OPEN = frozenset({"open", "late", "unanswered"})
HOLD_HORIZON = timedelta(days=14)
HOLD_LEAD = timedelta(days=3)  # look for a slot in the last days before the due date first
HOLD_MIN_NOTICE = timedelta(hours=2)  # never a hold that starts before the owner can see it
FOLLOW_UP_LEAD = timedelta(days=1)  # a follow-up when the due date is this near, or past
STALE = timedelta(days=30)  # older promises / requests are left alone
NUDGE_EXTRA_BUSINESS_DAYS = 1
REPLY_BY_BUSINESS_DAYS = 2  # an acknowledgement promises the answer this many working days on
# Reply debts need an explicit ask ("could you", "please", "let me know", "I need your"): a
# bare question ("Are you around this weekend?", "How was the trip?"), a proposal ("let's
# grab lunch", "we should do dinner soon") or a classifier's guess without a rule is often
# small talk or tied to a moment that has passed, and its thread still shows as waiting on
# the contact's page. The detector names the rule that fired in ``reasons["rule"]``.


# An ask whose answer comes back by mail: a question; a request for information, an opinion
# or a reply; or for something to be sent, shared or attached (to the writer). "Please
# schedule", "please print and sign", "please forward this to Michael" ask for a deed that
# may be done without a word back: silence is no evidence it was not. _HEAR_BACK_WORDS ask to
# hear back, whatever else the sentence asks (see _DEED_QUESTION).
_HEAR_BACK_WORDS = r"let (?:me|us) know|get back to (?:me|us)|tell (?:me|us)\b"
_ANSWER = re.compile(
    rf"\?|\b(?:{_HEAR_BACK_WORDS}|"
    r"your (?:thoughts|comments|views|input|feedback|opinion|answer|reply|response|reaction|"
    r"suggestions|revisions|edits|advice|recommendation)|reply|respond|confirm|advise)",
    re.I,
)
_DELIVERABLE = re.compile(
    r"\b(?:send|re-?send|e-?mail|share|attach|provide|circulate|forward (?:it |this |that )?to (?:me|us)\b)",
    re.I,
)
_TO_SOMEONE_ELSE = re.compile(
    r"\b(?:send|forward|e-?mail|pass|provide|circulate)\b[^.?!]{0,80}?\bto (?!me\b|us\b)"
    r"(?:[A-Z]|all\b|the\b|everyone\b)"
    r"|\b(?:send|provide|give|e-?mail|forward)\s+(?!Me\b|Us\b)[A-Z][a-z]+\b"  # "provide Ray your comments"
    # an errand with a third party: "Ask Karen for the list", "please tell Rick", "let Jim know"
    r"|^\W*(?:(?i:please|pls|kindly)\s+)?(?i:ask|tell|remind|call|ping|check with|get with|let)"
    r"\s+(?!Me\b|Us\b|Him\b|Her\b)[A-Z][a-z]+\b"
)


_REPLY = re.compile(r"^\s*(?:re|aw|sv|antw|r|rif|rv)\s*:", re.I)

# A question that asks for a deed, not for words: "Jeff -- could you coordinate with Rosie
# to get the time and place nailed down?", "Could you put someone in touch with them?". It
# is done (or not) without a word back, unless it also asks to hear back.
_DEED_QUESTION = re.compile(
    r"^\W*(?:[A-Z][a-z]+\s*(?:--|-|,|:)\s*)?(?:could|can|would|will) you (?:please )?(?:also )?"
    r"(?:coordinate|arrange|schedule|set up|organi[sz]e|handle|take care of|book|print|call|"
    r"contact|reach out|talk to|speak (?:to|with)|meet|follow up with|work with|check with|"
    r"get with|ask|tell|remind|invite|pick up|drop off|sign|file|put (?:someone|somebody|me|us)"
    r" in touch)\b",
    re.I,
)
_HEAR_BACK = re.compile(rf"\b(?:{_HEAR_BACK_WORDS})", re.I)


# A courtesy offer or a conditional "let me know": an answer comes only if there is
# something to say, so silence is no debt ("Let me know what I can do to help", "Let me
# know, though, if there are requests you consider inappropriate", "... if you have any
# questions").
_COURTESY = re.compile(
    r"\blet (?:me|us) know\b,?(?:\s*though,?)?\s+(?:what (?:I|we) can do|how (?:I|we) can help|"
    r"if (?:there (?:is|are|'s|were) (?:anything|any\b|requests|questions|problems|issues)|"
    r"you (?:need|have|want|require) (?:anything|any|more|further|help)|"
    r"I can (?:help|do anything|be of)|anything (?:else )?(?:comes up|changes)))",
    re.I,
)


def asks_for_answer(text: str) -> bool:
    """Whether an ask expects a written answer to the asker (see :data:`_ANSWER`); a
    courtesy offer (:data:`_COURTESY`) does not."""
    if _COURTESY.search(text) and "?" not in text:
        return False
    if _TO_SOMEONE_ELSE.search(text):
        return False  # "please provide Ray your comments": the answer goes to Ray
    if _DEED_QUESTION.search(text) and not _HEAR_BACK.search(text):
        return False  # "could you coordinate with Rosie …?": a deed, done without a word
    return bool(_ANSWER.search(text) or _DELIVERABLE.search(text))


def they_write_to_owner(snap: Snapshot, address: str) -> bool:
    """Whether the mailbox holds mail this person wrote to the owner: only then can their
    silence be read as not answering (an archive of sent mail alone shows no answers)."""
    contact = snap.contact_for(address)
    addresses = contact.addresses if contact is not None else frozenset({address})
    return any(
        m.direction == "in" and not m.is_automated and m.sender in addresses for m in snap.messages
    )


def explicit_ask(p: PromiseSnap) -> bool:
    """Weak asks are the detector's own band (bare questions, proposals, "let's", courtesy
    invitations, model-only guesses): one definition, in the detector."""
    return p.rule not in WEAK_ASK_RULES


def _local(snap: Snapshot, at: datetime) -> str:
    return f"{at.astimezone(snap.cfg.tz):%A %d %B}"


def _quote(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _origin(snap: Snapshot, p: PromiseSnap) -> MessageSnap | None:
    return snap.message(p.message_id)


def _last_in_thread(snap: Snapshot, p: PromiseSnap) -> MessageSnap | None:
    thread = snap.thread(p.thread_id)
    return thread[-1] if thread else _origin(snap, p)


def _counterpart(snap: Snapshot, p: PromiseSnap) -> tuple[str, str]:
    """The other person: who the owner promised / asked, or who promised / asked the owner."""
    origin = _origin(snap, p)
    if p.direction == "by_owner":
        address = p.to_addr or next(
            (a for a in (origin.recipients if origin else ()) if a not in snap.owner_addresses), ""
        )
    else:
        address = p.by_addr or (origin.sender if origin else "")
    contact = snap.contact_for(address) if address else None
    name = contact.name if contact else ""
    if not name and origin is not None and origin.sender == address:
        name = origin.sender_name
    return address, name


def _base_context(snap: Snapshot, p: PromiseSnap, address: str, name: str) -> dict[str, object]:
    contact = snap.contact_for(address)
    origin = _origin(snap, p)
    asked = origin.sent_at if origin else p.created_at
    promised = promised_object(p.text) if p.kind == "commitment" else ""
    if p.direction == "to_owner":
        promised = their_object(promised)
    elif promised.startswith("an answer"):
        promised = (
            "my answer" + promised[len("an answer") :]
        )  # "Sorry for the delay with my answer"
    return {
        "first_name": snap.greeting_for(address, name),
        "stage": contact.stage if contact else "",
        "promise_text": _quote(p.text),  # for the owner's own hold, never for a message
        "promised": promised,
        "it": pronoun(promised),
        # what an ask is about; the owner's own question is kept in the owner's words
        "ask": ask_phrase(p.text, flip=p.direction == "to_owner") if p.kind == "request" else "",
        "due_text": p.due_text,
        "due_date": _local(snap, p.due_at) if p.due_at else "",
        "asked_on": date_words(asked, snap.cfg.tz) if asked else "",
        "topic": topic_of(origin.subject) if origin else "",
        "last_topic": clean_subject(origin.subject) if origin else "",
    }


def _reply_fields(snap: Snapshot, p: PromiseSnap) -> tuple[int | None, int | None]:
    """(message to answer, account) for a reply in the promise's thread."""
    last = _last_in_thread(snap, p)
    if last is None:
        return None, snap.default_account()
    return last.id, last.account_id


def owner_wrote_in_thread_after(
    snap: Snapshot, thread_id: str, after: datetime, ignore_tag: str = ""
) -> bool:
    return any(
        m.direction == "out"
        and m.sent_at > after
        and (not ignore_tag or m.rapportd_tag != ignore_tag)
        for m in snap.thread(thread_id)
    )


def they_wrote_in_thread_after(
    snap: Snapshot, thread_id: str, address: str, after: datetime, *, anywhere: bool = False
) -> bool:
    """Whether this person wrote in the thread since ``after``; with ``anywhere``, also to
    the owner in any thread (the answer to a question often comes in a new thread, and a
    nudge after it would read as if the owner had not seen it; the owner's "Re:" to them
    counts, as it answers something they wrote). A promise made to the owner is judged by
    its fulfilment instead: writing about something else does not deliver it."""
    contact = snap.contact_for(address)
    addresses = contact.addresses | {address} if contact is not None else frozenset({address})
    if any(m.sender in addresses and m.sent_at > after for m in snap.thread(thread_id)):
        return True
    return anywhere and any(
        m.sent_at > after
        and (
            (m.direction == "in" and m.sender in addresses)
            or (
                m.direction == "out"
                and bool(_REPLY.match(m.subject))
                and bool(addresses & set(m.to))
            )
        )
        for m in snap.messages
    )


def promise_hold(snap: Snapshot, now: datetime) -> list[Proposal]:
    cfg = snap.cfg
    busy = busy_intervals(snap)
    out = []
    for p in snap.promises:
        if p.kind != "commitment" or p.direction != "by_owner" or p.state != "open":
            continue
        if p.due_at is None or not (now < p.due_at <= now + HOLD_HORIZON):
            continue
        start = max(now + HOLD_MIN_NOTICE, p.due_at - HOLD_LEAD)
        slot = None
        for lo in (start, now + HOLD_MIN_NOTICE):
            slot = next(
                free_slots(
                    busy,
                    start=lo,
                    end=p.due_at,
                    minutes=cfg.hold_minutes,
                    working_hours=cfg.working_hours,
                    working_days=cfg.working_days,
                    tz=cfg.tz,
                ),
                None,
            )
            if slot:
                break
        if slot is None:
            continue
        busy.append(slot)
        address, name = _counterpart(snap, p)
        origin = _origin(snap, p) or _last_in_thread(snap, p)
        out.append(
            Proposal(
                kind="promise_hold",
                dedupe_key=f"promise_hold:{p.key}",
                evidence=evidence_of(p.due_at, p.text),
                title=f"Time to do what you promised {snap.display_for(address, name) if address else 'someone'}",
                reasons={
                    "why": f"You promised “{_quote(p.text, 160)}” by {_local(snap, p.due_at)}; "
                    f"this is a free {cfg.hold_minutes}-minute slot before then.",
                    "promise": p.text,
                    "due_at": p.due_at.isoformat(),
                },
                account_id=origin.account_id if origin else snap.default_account(),
                to=((address, name),) if address else (),
                contact_id=p.contact_id,
                commitment_id=p.id,
                hold_start=slot[0],
                hold_end=slot[1],
                score=0.7,
                context=_base_context(snap, p, address, name),
            )
        )
    return out


def promise_follow_up(snap: Snapshot, now: datetime) -> list[Proposal]:
    out = []
    for p in snap.promises:
        if p.kind != "commitment" or p.direction != "by_owner" or p.state not in ("open", "late"):
            continue
        if p.due_at is None or p.due_at - FOLLOW_UP_LEAD > now or now - p.due_at > STALE:
            continue
        address, name = _counterpart(snap, p)
        if not address:
            continue
        ctx = _base_context(snap, p, address, name)
        if not ctx["promised"]:
            continue  # no deliverable to name ("I'm going to San Francisco"): better no draft
        reply_to, account = _reply_fields(snap, p)
        past = p.due_at <= now
        ctx["overdue"] = past
        new_due = add_business_days(max(now, p.due_at), 2, snap.cfg.working_days, snap.cfg.tz)
        ctx["new_date"] = day_phrase(new_due, now, snap.cfg.tz)
        ctx["due_day"] = day_phrase(p.due_at, now, snap.cfg.tz)
        out.append(
            Proposal(
                kind="promise_follow_up",
                dedupe_key=f"promise_follow_up:{p.key}",
                evidence=evidence_of(p.due_at, p.text),
                title=f"{'Deliver or re-set' if past else 'Deliver'} your promise to {snap.display_for(address, name)}",
                reasons={
                    "why": f"You promised “{_quote(p.text, 160)}” by {_local(snap, p.due_at)}"
                    + ("; that date has passed." if past else "; that is close."),
                    "promise": p.text,
                    "due_at": p.due_at.isoformat(),
                },
                account_id=account,
                to=((address, name),),
                contact_id=p.contact_id,
                commitment_id=p.id,
                reply_to_message_id=reply_to,
                score=0.9 if past else 0.7,
                context=ctx,
            )
        )
    return out


def reply_needed(snap: Snapshot, now: datetime) -> list[Proposal]:
    cfg = snap.cfg
    out = []
    for p in snap.promises:
        if p.kind != "request" or p.direction != "to_owner" or p.state not in OPEN:
            continue
        if not explicit_ask(p) or not asks_for_answer(p.text):
            continue  # an instruction ("please include X on future updates") is done, not answered
        origin = _origin(snap, p)
        if origin is None or now - origin.sent_at > STALE:
            continue
        waited = business_days_elapsed(origin.sent_at, now, cfg.working_days, cfg.tz)
        if waited < cfg.reply_after_business_days:
            continue
        if owner_wrote_in_thread_after(snap, p.thread_id or origin.thread_id, origin.sent_at):
            continue
        address, name = _counterpart(snap, p)
        if not address:
            continue
        reply_to, account = _reply_fields(snap, p)
        # the newest message in by time, named by what the provider calls it: a row id
        # follows the order of the sync (recent first, then older history), not of the mail;
        # a tie of two at one instant goes by account and provider id, never by row
        latest = max(
            (m for m in snap.thread(p.thread_id) if m.direction == "in"),
            key=lambda m: (m.sent_at, m.account_id, m.provider_id),
            default=origin,
        )
        reply_by = reply_by_at(now, cfg)
        out.append(
            Proposal(
                kind="reply_needed",
                dedupe_key=f"reply_needed:{p.key}",
                evidence=evidence_of(p.text, latest.sent_at, latest.provider_id),
                title=f"Answer {snap.display_for(address, name)}",
                reasons={
                    "why": f"{snap.display_for(address, name)} asked “{_quote(p.text, 160)}” on "
                    f"{_local(snap, origin.sent_at)}; unanswered for {waited} business days.",
                    "request": p.text,
                    "asked_at": origin.sent_at.isoformat(),
                    "business_days": waited,
                    "baseline_at": origin.sent_at.isoformat(),
                    "reply_by_at": reply_by.isoformat(),  # the date the acknowledgement names
                },
                account_id=account,
                to=((address, name),),
                contact_id=p.contact_id,
                commitment_id=p.id,
                reply_to_message_id=reply_to,
                score=min(1.0, 0.6 + 0.1 * waited),
                context={
                    **_base_context(snap, p, address, name),
                    "reply_by": day_phrase(reply_by, now, cfg.tz),
                },
            )
        )
    return out


def reply_by_at(now: datetime, cfg: SuggestConfig) -> datetime:
    """When an acknowledgement promises the answer: the end of the working day
    :data:`REPLY_BY_BUSINESS_DAYS` working days on, in the owner's time zone."""
    day = add_business_days(now, REPLY_BY_BUSINESS_DAYS, cfg.working_days, cfg.tz).astimezone(
        cfg.tz
    )
    end = min(cfg.working_hours[1], 23 * 60 + 59)
    return day.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)


def nudge(snap: Snapshot, now: datetime) -> list[Proposal]:
    cfg = snap.cfg
    out = []
    for p in snap.promises:
        if p.direction == "to_owner" and p.kind == "commitment":
            # someone's promise to the owner, late by a business day
            if p.state not in ("open", "late") or p.due_at is None:
                continue
            late_since = add_business_days(p.due_at, 1, cfg.working_days, cfg.tz)
            if now < late_since:
                continue  # a business day of grace, as documented
            if now - p.due_at > STALE:
                continue
            why = "promised you “{text}” by {due}; it has not arrived."
            baseline = p.due_at
        elif p.direction == "by_owner" and p.kind == "request":
            # the owner's question, unanswered for too long
            origin = _origin(snap, p)
            if p.state not in ("open", "unanswered") or origin is None:
                continue
            if not explicit_ask(p) or not asks_for_answer(p.text):
                continue
            waited = business_days_elapsed(origin.sent_at, now, cfg.working_days, cfg.tz)
            if waited < cfg.reply_after_business_days + NUDGE_EXTRA_BUSINESS_DAYS:
                continue
            if now - origin.sent_at > STALE:
                continue
            why = "has not answered your question “{text}” " + f"for {waited} business days."
            baseline = origin.sent_at
        else:
            continue
        address, name = _counterpart(snap, p)
        question = p.kind == "request"
        if not address or they_wrote_in_thread_after(
            snap, p.thread_id, address, baseline, anywhere=question
        ):
            continue
        if not they_write_to_owner(snap, address):
            continue
        ctx = _base_context(snap, p, address, name)
        if p.kind == "commitment" and not ctx["promised"]:
            continue  # a nudge that cannot say what was promised reads as a form letter
        reply_to, account = _reply_fields(snap, p)
        ctx["their_promise"] = p.kind == "commitment"
        due = _local(snap, p.due_at) if p.due_at else ""
        out.append(
            Proposal(
                kind="nudge",
                dedupe_key=f"nudge:{p.key}",
                evidence=evidence_of(p.due_at, p.state == "late", p.text),
                title=f"Nudge {snap.display_for(address, name)}",
                reasons={
                    "why": f"{snap.display_for(address, name)} "
                    + why.format(text=_quote(p.text, 160), due=due),
                    "quoted": p.text,
                    "baseline_at": baseline.isoformat(),
                },
                account_id=account,
                to=((address, name),),
                contact_id=p.contact_id,
                commitment_id=p.id,
                reply_to_message_id=reply_to,
                score=0.6,
                context=ctx,
            )
        )
    return out
