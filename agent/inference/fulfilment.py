"""Was a promise kept, is a request answered? Pure judgement over later messages.

Given a detected item, the message it came from and the later messages of the same thread or
between the same people (and optionally the calendar), decide:

- commitment: ``kept`` when a later message from the promiser to the promisee delivers it (an
  attachment when the promise is about sending something; delivery words such as "attached",
  "here is", "as promised", "just sent", "done"; or the promise's own key words with a
  past-tense delivery verb), or when a meeting/call with the promisee took place for a promise
  to call or meet; otherwise ``late`` once the due time has passed, else ``open``;
- request: ``answered`` when the asked person wrote back to the asker after it (in the thread,
  or directly); otherwise ``unanswered`` (reasons say whether its due time passed).

Every result carries the evidence in ``reasons``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from rapportd.agent.inference.commitments import Detected
from rapportd.agent.inference.types import Meeting, Msg

State = Literal["open", "kept", "late", "answered", "unanswered"]

_SENDING = re.compile(
    r"\b(?:send|share|forward|attach|deliver|upload|email|e-mail|post|circulate|get .{0,30} to|"
    r"have .{0,30} (?:to|ready|over)|resend|courier|ship|submit|publish|draft)\b",
    re.I,
)
_MEETING = re.compile(
    r"\b(?:call|ring|meet|catch up|chat|phone|talk|touch base|sync|visit)\b", re.I
)
_DELIVERY = re.compile(
    r"\b(?:attached|attaching|enclosed|here(?:'s| is| are| you go)|please find|as promised|"
    r"(?:just |have |i've |we've )?(?:sent|shared|uploaded|forwarded|submitted|posted|booked|"
    r"transferred|wired|paid|scheduled|published|delivered|shipped|circulated|done|completed|"
    r"finished|updated)|see (?:attached|below|the link))\b",
    re.I,
)
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "of",
        "for",
        "by",
        "on",
        "in",
        "at",
        "with",
        "from",
        "your",
        "you",
        "our",
        "my",
        "me",
        "we",
        "i",
        "it",
        "this",
        "that",
        "will",
        "would",
        "could",
        "should",
        "send",
        "share",
        "over",
        "back",
        "get",
        "have",
        "has",
        "had",
        "be",
        "been",
        "is",
        "are",
        "was",
        "were",
        "tomorrow",
        "today",
        "friday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "saturday",
        "sunday",
        "next",
        "week",
        "end",
        "day",
        "month",
        "by",
        "eod",
        "cob",
        "soon",
        "later",
        "morning",
        "afternoon",
        "evening",
        "tonight",
        "please",
        "thanks",
        "just",
        "also",
        "them",
        "they",
        "their",
        "there",
        "here",
        "some",
        "any",
        "all",
        "can",
        "let",
        "know",
        "then",
        "what",
        "which",
    ]
)


@dataclass(frozen=True)
class Fulfilment:
    state: State
    at: datetime | None = None  # when kept / answered
    evidence_id: int | None = None  # the message that kept / answered it
    reasons: dict[str, object] = field(default_factory=dict, hash=False, compare=False)


def _people(value: str) -> set[str]:
    return {p.strip().lower() for p in value.split(",") if p.strip()}


def key_words(sentence: str) -> set[str]:
    """Content words of the promise ("deck", "pricing", "contract") used to match a delivery."""
    words = re.findall(r"[a-z][a-z0-9'-]{3,}", sentence.lower())
    return {w for w in words if w not in _STOP}


def assess(
    item: Detected,
    origin: Msg,
    later: Sequence[Msg],
    *,
    now: datetime,
    meetings: Sequence[Meeting] = (),
) -> Fulfilment:
    """The state of ``item`` (found in ``origin``) given the messages after it."""
    after = sorted((m for m in later if m.sent_at > origin.sent_at), key=lambda m: m.sent_at)
    if item.kind == "request":
        return _request_state(item, origin, after, now)
    return _commitment_state(item, origin, after, now, meetings)


def _related(m: Msg, origin: Msg, frm: set[str], to: set[str], *, thread_is_enough: bool) -> bool:
    """From the right person, and to the right person (or, for answers, in the thread)."""
    if m.sender.lower() not in frm:
        return False
    same_thread = bool(origin.thread_id) and m.thread_id == origin.thread_id
    direct = bool(to & {r.lower() for r in m.recipients})
    if thread_is_enough:
        return same_thread or direct
    return direct or (same_thread and not m.recipients)


def _commitment_state(
    item: Detected, origin: Msg, after: list[Msg], now: datetime, meetings: Sequence[Meeting]
) -> Fulfilment:
    promiser = _people(item.by) or {origin.sender.lower()}
    promisee = _people(item.to) or {r.lower() for r in origin.recipients}
    words = key_words(item.text)
    about_sending = bool(_SENDING.search(item.text))
    for m in after:
        if m.sent_at > now or not _related(m, origin, promiser, promisee, thread_is_enough=False):
            continue
        reasons: dict[str, object] = {}
        if about_sending and m.has_attachments:
            reasons["attachment"] = True
        if _DELIVERY.search(m.text or ""):
            reasons["delivery_phrase"] = _DELIVERY.search(m.text or "").group(0)  # type: ignore[union-attr]
        shared = sorted(words & key_words(m.text or m.subject))
        if shared:
            reasons["shared_words"] = shared[:5]
        if reasons.get("attachment") or (
            reasons.get("delivery_phrase") and (shared or about_sending)
        ):
            return _kept(item, m.sent_at, m.id, reasons)
    if _MEETING.search(item.text):
        for mt in sorted(meetings, key=lambda x: x.start):
            if not (origin.sent_at < mt.start <= now) or mt.status == "cancelled":
                continue
            emails = {p.email.lower() for p in mt.attendees} | {mt.organizer.lower()}
            if promisee & emails and (promiser & emails or not mt.attendees):
                return _kept(item, mt.start, None, {"meeting": mt.id, "summary": mt.summary})
    if item.due is not None and now > item.due:
        return Fulfilment("late", reasons={"due": item.due.isoformat(), "checked": len(after)})
    return Fulfilment("open", reasons={"checked": len(after)})


def _kept(
    item: Detected, at: datetime, evidence: int | None, reasons: dict[str, object]
) -> Fulfilment:
    reasons = dict(reasons)
    if item.due is not None:
        reasons["on_time"] = at <= item.due
    return Fulfilment("kept", at=at, evidence_id=evidence, reasons=reasons)


def _request_state(item: Detected, origin: Msg, after: list[Msg], now: datetime) -> Fulfilment:
    asked = _people(item.to) or {r.lower() for r in origin.recipients}
    asker = _people(item.by) or {origin.sender.lower()}
    for m in after:
        if m.sent_at > now or not _related(m, origin, asked, asker, thread_is_enough=True):
            continue
        reasons: dict[str, object] = {"reply_from": m.sender.lower()}
        if item.due is not None:
            reasons["on_time"] = m.sent_at <= item.due
        return Fulfilment("answered", at=m.sent_at, evidence_id=m.id, reasons=reasons)
    reasons = {"checked": len(after)}
    if item.due is not None:
        reasons["overdue"] = now > item.due
    return Fulfilment("unanswered", reasons=reasons)
