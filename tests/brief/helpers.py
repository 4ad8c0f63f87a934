"""Hand-built snapshots for the brief builder's tests (no database: the builder is pure)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from rapportd.agent.core.settings import load_settings
from rapportd.agent.suggest.config import effective_config
from rapportd.agent.suggest.snapshot import (
    ContactSnap,
    MeetingSnap,
    MessageSnap,
    Person,
    PromiseSnap,
    Snapshot,
)

NOW = datetime(2024, 6, 12, 16, 0, tzinfo=UTC)  # a Wednesday afternoon
OWNER = "olivia@acme.test"
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass
class World:
    """Rows of one owner, built up by the test, turned into a Snapshot by :meth:`snap`."""

    meetings: list[MeetingSnap] = field(default_factory=list)
    messages: list[MessageSnap] = field(default_factory=list)
    contacts: dict[int, ContactSnap] = field(default_factory=dict)
    promises: list[PromiseSnap] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def contact(self, email: str, name: str = "", **kw: object) -> ContactSnap:
        defaults: dict[str, object] = {
            "stage": "respect",
            "typical_gap_days": 9.0,
            "last_interaction_at": NOW - 3 * D,
            "interaction_count": 12,
        }
        defaults.update(kw)
        c = ContactSnap(
            id=next(self.ids),
            name=name,
            address=email,
            addresses=frozenset({email}),
            **defaults,  # type: ignore[arg-type]
        )
        self.contacts[c.id] = c
        return c

    def meeting(
        self,
        start: datetime,
        attendees: list[str] | list[tuple[str, str]],
        summary: str = "Quote review",
        **kw: object,
    ) -> MeetingSnap:
        people = [Person(OWNER, "Olivia", "accepted", True)]
        for a in attendees:
            email, name = a if isinstance(a, tuple) else (a, "")
            people.append(Person(email, name, "accepted"))
        m = MeetingSnap(
            id=next(self.ids),
            key=f"uid{len(self.meetings)}@{start.isoformat()}",
            account_id=1,
            start=start,
            end=start + H,
            summary=summary,
            self_response="accepted",
            organizer=OWNER,
            organizer_is_self=True,
            attendees=tuple(people),
        )
        m = replace(m, **kw)  # type: ignore[arg-type]
        self.meetings.append(m)
        return m

    def message(
        self,
        sent_at: datetime,
        sender: str,
        to: list[str],
        text: str,
        subject: str = "Proposal",
        thread: str = "t1",
        **kw: object,
    ) -> MessageSnap:
        n = next(self.ids)
        m = MessageSnap(
            id=n,
            account_id=1,
            sent_at=sent_at,
            sender=sender,
            direction="out" if sender == OWNER else "in",
            to=tuple(to),
            thread_id=thread,
            provider_id=f"p{n}",
            rfc822_id=f"<m{n}@mail.test>",
            subject=subject,
            text=text,
            **kw,  # type: ignore[arg-type]
        )
        self.messages.append(m)
        return m

    def promise(
        self,
        msg: MessageSnap,
        text: str,
        *,
        kind: str = "commitment",
        state: str = "open",
        due_at: datetime | None = None,
        rule: str = "",
        by: str = "",
        to: str = "",
    ) -> PromiseSnap:
        by_owner = msg.direction == "out"
        p = PromiseSnap(
            id=next(self.ids),
            key=f"k{len(self.promises)}",
            kind=kind,
            direction="by_owner" if by_owner else "to_owner",
            text=text,
            state=state,
            due_at=due_at,
            by_addr=by or msg.sender,
            to_addr=to or (msg.to[0] if by_owner else OWNER),
            thread_id=msg.thread_id,
            message_id=msg.id,
            rule=rule,
        )
        self.promises.append(p)
        return p

    def snap(self, **prefs: object) -> Snapshot:
        settings = load_settings()
        cfg = effective_config(
            settings,
            preferences={"suggestions": prefs} if prefs else None,
            timezone="UTC",
            org_domains=["acme.test"],
        )
        by_address = {a: c.id for c in self.contacts.values() for a in c.addresses}
        return Snapshot(
            owner_id=1,
            owner_name="Olivia Owner",
            owner_addresses=frozenset({OWNER}),
            cfg=cfg,
            accounts=((1, "google", "ok"),),
            meetings=tuple(self.meetings),
            messages=tuple(sorted(self.messages, key=lambda m: m.sent_at)),
            contacts=dict(self.contacts),
            by_address=by_address,
            promises=tuple(self.promises),
        )
