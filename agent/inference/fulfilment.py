"""Was a promise kept, is a request answered? Pure judgement over later messages.

Given a detected item, the message it came from and the later messages of the same thread or
between the same people (and optionally the calendar), decide:

- commitment: ``kept`` when

  * the sentence itself performs the delivery ("Sending over the deck now.", "Attached is
    the deck, as promised."): a promise is never open when the message that states it also
    carries it out (the evidence is the message itself);
  * a later message from the promiser in the **same thread** delivers it: an attachment
    (when the promise is about sending something or names an object), delivery words
    ("attached", "here is", "sending ... now", "as promised", "done"), a reference back
    ("as promised", "getting back to you"), or, when the promise was only to get back /
    confirm / let them know, a later message from the promiser that gives an answer
    ("confirmed", "yes", "all set", "good to go", an update);
  * a later message from the promiser **to the promisee in another thread** delivers it
    *and* names what was promised (at least two of the promise's content words, or all of
    them if it has fewer): a bare "done, see attached" in an unrelated thread is not
    evidence, because people exchange many attachments;
  * a small meeting with the promisee took place, for a promise to call or meet (the verb,
    not "my notes from the call");

  otherwise ``late`` once the due time has passed, else ``open``;
- request: ``answered`` when the asked person replied in the same thread after it, or wrote
  to the asker in another thread about the same thing (shared content words or the same
  content words); a message about something else is not an answer. Otherwise ``unanswered``
  (reasons say whether its due time passed).

"The same thread" is the provider's thread, or a message to the other person titled as a reply
to the original ("RE: <its subject>"): mail whose client or archive dropped In-Reply-To and
References is filed by Gmail in a thread of its own.

Every result carries the evidence in ``reasons``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from rapportd.agent.core.records import answers_subject
from rapportd.agent.inference.commitments import Detected
from rapportd.agent.inference.types import Meeting, Msg

State = Literal["open", "kept", "late", "answered", "unanswered"]
SMALL_MEETING = 7  # attendees; bigger meetings do not keep a promise to call or meet

_SENDING = re.compile(
    r"\b(?:send|share|forward|attach|deliver|upload|email|e-mail|post|circulate|get .{0,30} to|"
    r"have .{0,30} (?:to|ready|over)|resend|courier|ship|submit|publish|draft)\b",
    re.I,
)
_MEETING = re.compile(
    r"\b(?:call|ring|meet|catch up|chat|phone|talk|touch base|sync|visit)\b", re.I
)
# "notes from the call", "after our meeting": the call is the topic, not the promise.
_MEETING_AS_OBJECT = re.compile(
    r"\b(?:the|our|that|this|from|of|after|before|about|on|last|earlier|recent)\s+"
    r"(?:last |earlier |recent |previous )?(?:call|meeting|chat|talk|sync|visit)\b",
    re.I,
)
# A promise only to answer: any later message from the promiser in the thread answers it.
_REPLY_PROMISE = re.compile(
    r"\b(?:get back to|come back to|circle back|revert|let (?:you|them|him|her) know|confirm|"
    r"reply|respond|answer|update you|keep you posted|follow up)\b",
    re.I,
)
# What an answer to "I'll let you know / confirm / get back to you" says: a later message in
# the thread with none of these (nor a delivery or a pointer back) is small talk, not it.
_ANSWER_CUE = re.compile(
    r"\b(?:confirm(?:ed|ing)?|yes|no|not yet|good to go|all set|all good|approved|agreed|"
    r"decided|decision|update|answer|result|sorted|works for (?:us|me)|go ahead|on track|"
    r"we can(?:not|'t)?|it's fine|that's fine)\b",
    re.I,
)
# Words that point back at an earlier promise: the message is its delivery.
_BACKREF = re.compile(
    r"\b(?:as promised|as (?:i )?(?:said|mentioned) i would|(?:getting|coming) back to you|"
    r"following up as|per my (?:promise|last (?:email|message)))\b",
    re.I,
)
# The sentence itself carries out the promise ("Sending over the deck now.", "Attached is").
_PERFORMED = re.compile(
    r"^(?:(?:i'm|i am|we're|we are)\s+)?(?:sending|attaching|forwarding|sharing|enclosing)\b"
    r"[^.?!]*\b(?:now|herewith|here|below|attached)\b|"
    r"\b(?:attached (?:is|are|please find|you'll find|you will find)|please find|"
    r"(?:is|are) attached|attached,|here (?:is|are)|here's|enclosed (?:is|are)|as promised)\b",
    re.I,
)
_DELIVERY = re.compile(
    r"\b(?:attached|attaching|enclosed|here(?:'s| is| are| you go)|please find|as promised|"
    r"(?:just |have |i've |we've )?(?:sent|shared|uploaded|forwarded|submitted|posted|booked|"
    r"transferred|wired|paid|scheduled|published|delivered|shipped|circulated|done|completed|"
    r"finished|updated)|see (?:attached|below|the link)|sending\b[^.?!]{0,60}\bnow)\b",
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
        "i'll",
        "we'll",
        "you'll",
        "i'm",
        "we're",
        "it's",
        "let's",
        "won't",
        "make",
        "sure",
        "ready",
        "together",
        "look",
        "into",
        "follow",
        "circle",
        "expect",
        "leave",
        "going",
        "promise",
        "within",
        "couple",
        "days",
        "weeks",
        "before",
        "after",
        "until",
        "weekend",
        "attached",
        "promised",
        "sorry",
        "delay",
        "dig",
        "forward",
        "sending",
        "will",
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


def _related(m: Msg, origin: Msg, frm: set[str], to: set[str]) -> tuple[bool, bool]:
    """(from the right person and relevant at all, in the same thread)."""
    if m.sender.lower() not in frm:
        return False, False
    direct = bool(to & {r.lower() for r in m.recipients})
    # In the thread, but written to someone else (a forward to a colleague): not for them. A
    # reply titled "RE: <its subject>" to them is in it, whatever thread the provider filed it in.
    same_thread = (
        bool(origin.thread_id) and m.thread_id == origin.thread_id and (direct or not m.recipients)
    ) or (direct and answers_subject(m.subject, origin.subject))
    return same_thread or direct, same_thread


def _enough_shared(words: set[str], shared: list[str], *, refers_back: bool = False) -> bool:
    """Another thread must name what was promised or asked: two content words (one common
    word such as "figures" or "deck" is everywhere in a busy correspondence), or all of them
    when the message also points back at the promise ("as promised, the deck")."""
    if len(shared) >= 2:
        return True
    return refers_back and bool(words) and len(shared) >= len(words)


def performs_itself(text: str) -> bool:
    """Whether a promise sentence is carried out by the message that states it."""
    return bool(_PERFORMED.search(text))


def about_meeting(text: str) -> bool:
    """A promise to call or meet (not one that merely mentions a past call)."""
    return bool(_MEETING.search(_MEETING_AS_OBJECT.sub(" ", text)))


def _commitment_state(
    item: Detected, origin: Msg, after: list[Msg], now: datetime, meetings: Sequence[Meeting]
) -> Fulfilment:
    if performs_itself(item.text):
        return _kept(item, origin.sent_at, origin.id, {"performed_in_message": True})
    promiser = _people(item.by) or {origin.sender.lower()}
    promisee = _people(item.to) or {r.lower() for r in origin.recipients}
    words = key_words(item.text)
    about_sending = bool(_SENDING.search(item.text))
    reply_only = bool(_REPLY_PROMISE.search(item.text)) and not about_sending
    for m in after:
        if m.sent_at > now:
            continue
        relevant, same_thread = _related(m, origin, promiser, promisee)
        if not relevant:
            continue
        text = m.text or ""
        reasons: dict[str, object] = {"same_thread": same_thread}
        if m.has_attachments:
            reasons["attachment"] = True
        phrase = _DELIVERY.search(text)
        if phrase:
            reasons["delivery_phrase"] = phrase.group(0)
        backref = _BACKREF.search(text)
        if backref:
            reasons["refers_back"] = backref.group(0)
        # in the thread the subject is the topic; elsewhere only the message's own words count
        shared = sorted(words & key_words(f"{text} {m.subject}" if same_thread else text))
        if shared:
            reasons["shared_words"] = shared[:5]
        if same_thread:
            kept = (
                backref is not None
                or (m.has_attachments and (about_sending or bool(words)))
                or (phrase is not None and (bool(shared) or about_sending))
                or (reply_only and _ANSWER_CUE.search(text) is not None)
            )
        else:
            kept = (m.has_attachments or phrase is not None or backref is not None) and (
                _enough_shared(words, shared, refers_back=backref is not None)
            )
        if kept:
            return _kept(item, m.sent_at, m.id, reasons)
    if about_meeting(item.text):
        for mt in sorted(meetings, key=lambda x: x.start):
            if not (origin.sent_at < mt.start <= now) or mt.status == "cancelled":
                continue
            if len(mt.attendees) > SMALL_MEETING:
                continue  # an all-hands is not the call that was promised
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
    words = key_words(item.text)
    for m in after:
        if m.sent_at > now:
            continue
        relevant, same_thread = _related(m, origin, asked, asker)
        if not relevant:
            continue
        reasons: dict[str, object] = {"reply_from": m.sender.lower(), "same_thread": same_thread}
        if not same_thread:
            shared = sorted(words & key_words(m.text))
            if not _enough_shared(words, shared):
                continue  # mail about something else is not an answer
            reasons["shared_words"] = shared[:5]
        if item.due is not None:
            reasons["on_time"] = m.sent_at <= item.due
        return Fulfilment("answered", at=m.sent_at, evidence_id=m.id, reasons=reasons)
    reasons = {"checked": len(after)}
    if item.due is not None:
        reasons["overdue"] = now > item.due
    return Fulfilment("unanswered", reasons=reasons)
