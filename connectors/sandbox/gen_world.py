"""The state one owner's generation builds up: the clock window, the mail written so far
(as scenario entries) and who took part in what, for the ground truth."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rapportd.connectors.sandbox.gen_mail import Mail, render
from rapportd.connectors.sandbox.gen_people import Owner, Person

_ZONES: dict[str, ZoneInfo] = {}


def zone(name: str) -> ZoneInfo:
    if name not in _ZONES:
        _ZONES[name] = ZoneInfo(name)
    return _ZONES[name]


@dataclass
class World:
    rng: random.Random
    owner: Owner
    start: datetime  # aware UTC
    now: datetime  # aware UTC
    horizon_end: datetime  # events may be planned up to here (after now)
    cast: list[Person] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    commitments: list[dict[str, Any]] = field(default_factory=list)
    meetings: list[dict[str, Any]] = field(default_factory=list)
    last_seen: dict[str, datetime] = field(default_factory=dict)  # address -> last message
    counter: int = 0

    def account_address(self, provider: str) -> str:
        return self.owner.gmail if provider == "google" else self.owner.work

    def new_message_id(self, domain: str) -> str:
        self.counter += 1
        return f"<{self.rng.getrandbits(64):016x}.{self.counter}@{domain}>"

    def new_id(self, bits: int = 100) -> str:
        """A base32hex-safe id (valid for Calendar's client-chosen ids, fine for Graph)."""
        return f"{self.rng.getrandbits(bits):026x}"

    def local(self, when: datetime, tz: str, *, work: bool) -> datetime:
        """``when`` moved into the waking (``work``: office) hours of ``tz``, as local time."""
        loc = when.astimezone(zone(tz))
        lo, hi = (8, 18) if work else (8, 22)
        if work and loc.weekday() >= 5:
            loc = loc + timedelta(days=7 - loc.weekday())
        if not lo <= loc.hour < hi:
            hour = self.rng.randint(lo, hi - 1)
            day = loc if loc.hour < hi else loc + timedelta(days=1)
            loc = day.replace(hour=hour, minute=self.rng.randint(0, 59))
            if work and loc.weekday() >= 5:
                loc = loc + timedelta(days=7 - loc.weekday())
        return loc.replace(second=self.rng.randint(0, 59), microsecond=0)

    def emit(
        self, mail: Mail, provider: str, *, sent_by_owner: bool, labels: list[str] | None = None
    ) -> None:
        """Write ``mail`` into the owner's ``provider`` account (inbox or sent)."""
        entry: dict[str, Any] = {"account": self.account_address(provider), "raw": render(mail)}
        if provider == "google":
            if labels is None:
                labels = ["SENT"] if sent_by_owner else ["INBOX", "CATEGORY_PERSONAL"]
            entry["labels"] = labels
        else:
            entry["folder"] = "sentitems" if sent_by_owner else "inbox"
        self.messages.append(entry)
        when = mail.sent
        for _, address in [mail.sender, *mail.to, *mail.cc]:
            key = address.lower()
            if key not in self.last_seen or self.last_seen[key] < when:
                self.last_seen[key] = when


def person_pair(p: Person, address: str | None = None) -> tuple[str, str]:
    return (p.name, address or p.email)
