"""The inputs of inference: small frozen records built from the store (see agent/analysis/analyse.py).

They are deliberately not ORM rows, so every inference is a pure function that tests can
feed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)  # slots: 400k of them in a large history
class Msg:
    """One stored message as inference sees it."""

    id: int
    sent_at: datetime  # aware
    sender: str  # lower-case address
    recipients: tuple[str, ...] = ()  # to + cc, lower-case
    direction: Literal["in", "out", "self"] = "in"
    thread_id: str = ""
    subject: str = ""
    text: str = ""  # new text: quotes and signature already removed
    word_count: int = 0
    sender_name: str = ""
    has_attachments: bool = False
    labels: tuple[str, ...] = ()
    list_id: str = ""
    list_unsubscribe: bool = False
    precedence: str = ""
    auto_submitted: str = ""
    rfc822_id: str = ""
    in_reply_to: str = ""
    tz_offset_minutes: int | None = None
    account_id: int = 0
    to: tuple[str, ...] = ()  # the direct recipients (a subset of ``recipients``)
    recipient_names: tuple[tuple[str, str], ...] = ()  # (address, display name) pairs

    @property
    def send_order(self) -> tuple[datetime, int, str, int]:
        """How messages sent at the same instant are ordered: by account, then Message-ID,
        then row id last (row ids follow the order a sync stored rows in, which faults and
        recent-first windows change; which copy is kept must not)."""
        return (self.sent_at, self.account_id, self.rfc822_id, self.id)

    def name_of(self, address: str) -> str:
        """The display name this message gives ``address`` ("" when none)."""
        if address == self.sender:
            return self.sender_name
        return next((n for a, n in self.recipient_names if a == address), "")


@dataclass(frozen=True)
class Participant:
    email: str
    name: str = ""
    response: str = "needsAction"  # accepted | declined | tentative | needsAction | none
    is_self: bool = False


@dataclass(frozen=True)
class Meeting:
    """One stored calendar event (an instance, for recurring series)."""

    id: int
    start: datetime
    end: datetime
    summary: str = ""
    organizer: str = ""
    attendees: tuple[Participant, ...] = ()
    status: str = "confirmed"  # confirmed | tentative | cancelled
    self_response: str = ""
    is_recurring: bool = False
    series_id: str = ""
    account_id: int = 0


@dataclass(frozen=True)
class OwnerProfile:
    """Who the owner is: their addresses (all accounts and aliases) and organisation."""

    addresses: frozenset[str]
    org_domains: frozenset[str] = field(default_factory=frozenset)
    timezone: str = "UTC"
