"""The values of a meeting brief. Every fact carries its evidence: the message it was read
from and the exact sentence, always from that message's author's own words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Evidence:
    """Where a fact was read: a stored message and the sentence in its author's own text."""

    message_id: int
    sent_at: datetime
    sender: str
    subject: str
    sentence: str = ""
    thread_id: str = ""
    provider_id: str = ""
    rfc822_id: str = ""
    account_id: int | None = None
    link: str = ""  # the thread in the owner's mailbox (added at the edge, "" when unknown)

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "rfc822_id": self.rfc822_id,
            "provider_id": self.provider_id,
            "thread_id": self.thread_id,
            "sent_at": self.sent_at.isoformat(),
            "sender": self.sender,
            "subject": self.subject,
            "sentence": self.sentence,
            "link": self.link,
        }


@dataclass(frozen=True)
class Fact:
    """A promise or an ask, either way round, and whether it is done.

    ``kind``: ``owner_promised`` (the owner promised them), ``they_asked`` (they asked the
    owner), ``they_promised`` (they promised the owner), ``owner_asked`` (the owner asked
    them). ``done`` is True when kept / answered, False while open, late or unanswered."""

    kind: str
    who: str  # the attendee's address it concerns
    text: str  # the exact sentence
    state: str
    done: bool
    evidence: Evidence
    due_at: datetime | None = None
    due_text: str = ""
    resolved_by: Evidence | None = None  # the message that kept / answered it, when known
    commitment_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "who": self.who,
            "text": self.text,
            "state": self.state,
            "done": self.done,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "due_text": self.due_text,
            "commitment_id": self.commitment_id,
            "evidence": self.evidence.as_dict(),
            "resolved_by": self.resolved_by.as_dict() if self.resolved_by else None,
        }


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str
    organisation: str
    stage: str = ""
    rhythm: str = ""  # "usually in touch every 9 days; last 3 days ago"
    contact_id: int | None = None
    first_meeting: bool = False  # no mail with them in the window the brief reads

    @property
    def line(self) -> str:
        """One line: name, organisation, stage and rhythm."""
        parts = [self.name or self.email, self.organisation]
        if self.stage:
            parts.append(f"stage: {self.stage}")
        parts.append(self.rhythm or "no mail with them yet")
        return " · ".join(p for p in parts if p)

    def as_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "organisation": self.organisation,
            "stage": self.stage,
            "rhythm": self.rhythm,
            "contact_id": self.contact_id,
            "line": self.line,
        }


@dataclass(frozen=True)
class Topic:
    """A recent conversation with them: the thread's subject and its latest message."""

    subject: str
    thread_id: str
    last_at: datetime
    messages: int
    evidence: Evidence  # the latest message of the thread with their or the owner's own words

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "thread_id": self.thread_id,
            "last_at": self.last_at.isoformat(),
            "messages": self.messages,
            "evidence": self.evidence.as_dict(),
        }


@dataclass(frozen=True)
class Suggestion:
    """One thing to say or ask, and the fact it comes from (None for a first meeting)."""

    text: str
    reason: str
    evidence: Evidence | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "reason": self.reason,
            "evidence": self.evidence.as_dict() if self.evidence else None,
        }


@dataclass(frozen=True)
class Brief:
    meeting_id: int
    meeting_key: str
    account_id: int
    title: str
    start: datetime
    end: datetime
    timezone: str
    attendees: tuple[Attendee, ...]
    facts: tuple[Fact, ...]
    topics: tuple[Topic, ...]
    suggestion: Suggestion

    def of_kind(self, kind: str) -> list[Fact]:
        return [f for f in self.facts if f.kind == kind]

    def evidence(self) -> list[Evidence]:
        """Every piece of evidence the brief shows."""
        out = [f.evidence for f in self.facts]
        out += [f.resolved_by for f in self.facts if f.resolved_by is not None]
        out += [t.evidence for t in self.topics]
        if self.suggestion.evidence is not None:
            out.append(self.suggestion.evidence)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "meeting_id": self.meeting_id,
            "meeting_key": self.meeting_key,
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "attendees": [a.as_dict() for a in self.attendees],
            "owner_promised": [f.as_dict() for f in self.of_kind("owner_promised")],
            "they_asked": [f.as_dict() for f in self.of_kind("they_asked")],
            "they_promised": [f.as_dict() for f in self.of_kind("they_promised")],
            "owner_asked": [f.as_dict() for f in self.of_kind("owner_asked")],
            "topics": [t.as_dict() for t in self.topics],
            "suggestion": self.suggestion.as_dict(),
        }
