"""What a rule proposes, before it is stored: a pure value with its reasons."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapportd.agent.core.records import content_hash
from rapportd.agent.suggest.config import HOLD_KINDS


@dataclass(frozen=True)
class Proposal:
    """One suggestion a rule would make now.

    ``dedupe_key`` names *what* is suggested (the same meeting, promise or silence always
    gives the same key); ``evidence`` hashes the facts it rests on, so a dismissed
    suggestion returns only when those facts change.
    """

    kind: str
    dedupe_key: str
    evidence: str
    title: str
    reasons: dict[str, Any]
    account_id: int | None
    to: tuple[tuple[str, str], ...] = ()  # (email, name)
    contact_id: int | None = None
    commitment_id: int | None = None
    event_id: int | None = None
    reply_to_message_id: int | None = None
    hold_start: datetime | None = None
    hold_end: datetime | None = None
    score: float = 0.5
    context: dict[str, Any] = field(default_factory=dict)  # what drafting needs

    @property
    def is_hold(self) -> bool:
        return self.kind in HOLD_KINDS


def evidence_of(*parts: object) -> str:
    return content_hash(*parts)[:32]


def make_tag(owner_id: int, dedupe_key: str, evidence: str) -> str:
    """rapportd's id on the written item: lower-case base32hex-safe (Calendar event ids)."""
    digest = hashlib.sha256(f"{owner_id}|{dedupe_key}|{evidence}".encode()).hexdigest()
    return "rpd" + digest[:40]


def clean_subject(subject: str) -> str:
    s = subject.strip()
    while True:
        low = s.lower()
        for prefix in ("re:", "fw:", "fwd:", "aw:", "sv:"):
            if low.startswith(prefix):
                s = s[len(prefix) :].strip()
                break
        else:
            return s
