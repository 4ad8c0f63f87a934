"""Hand-built store rows for the suggestion tests: an owner, an account, and helpers that
add events, messages, contacts and commitments with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    ContactIdentity,
    Message,
    Owner,
)

NOW = datetime(2024, 6, 12, 10, 0, tzinfo=UTC)  # a Wednesday
OWNER = "olivia@acme.test"
_ids = itertools.count(1)


class Store:
    """One owner with one Google account, and row builders."""

    def __init__(self, session: Session, *, email: str = OWNER, timezone: str = "UTC") -> None:
        self.session = session
        self.owner = Owner(
            email=email, display_name="Olivia Owner", timezone=timezone, org_domains=["acme.test"]
        )
        session.add(self.owner)
        session.flush()
        self.account = Account(owner_id=self.owner.id, provider="google", address=email)
        session.add(self.account)
        session.flush()

    @property
    def owner_id(self) -> int:
        return self.owner.id

    def contact(
        self,
        email: str,
        name: str = "",
        *,
        stage: str = "respect",
        strength: float = 0.5,
        overdue: float = 0.0,
        typical_gap: float = 14.0,
        last: datetime | None = None,
        count: int = 10,
        internal: bool = False,
        automated: bool = False,
        drift: dict[str, object] | None = None,
    ) -> Contact:
        c = Contact(
            owner_id=self.owner_id,
            display_name=name,
            primary_address=email,
            stage=stage,
            strength=strength,
            overdue_score=overdue,
            typical_gap_days=typical_gap,
            last_interaction_at=last,
            interaction_count=count,
            is_internal=internal,
            is_automated=automated,
            analysis={"drift": drift} if drift is not None else {},
        )
        self.session.add(c)
        self.session.flush()
        self.session.add(
            ContactIdentity(owner_id=self.owner_id, contact_id=c.id, address=email, name=name)
        )
        self.session.flush()
        return c

    def event(
        self,
        start: datetime,
        minutes: int = 60,
        *,
        attendees: list[str] = (),  # type: ignore[assignment]
        summary: str = "Project kickoff",
        status: str = "confirmed",
        self_response: str = "accepted",
        recurring: bool = False,
        transparency: str = "opaque",
        declined: tuple[str, ...] = (),
    ) -> CalendarEvent:
        people: list[dict[str, Any]] = [
            {"email": self.owner.email, "name": "Olivia", "response": self_response, "self": True}
        ]
        people += [
            {
                "email": a,
                "name": a.split("@")[0].title(),
                "response": "declined" if a in declined else "accepted",
                "self": False,
            }
            for a in attendees
        ]
        ev = CalendarEvent(
            owner_id=self.owner_id,
            account_id=self.account.id,
            provider_id=f"ev{next(_ids)}",
            ical_uid=f"uid{next(_ids)}",
            start_at=start,
            end_at=start + timedelta(minutes=minutes),
            summary=summary,
            status=status,
            organizer=self.owner.email,
            organizer_is_self=True,
            attendees=people,
            self_response=self_response,
            is_recurring=recurring,
            series_id="series1" if recurring else "",
            transparency=transparency,
        )
        self.session.add(ev)
        self.session.flush()
        return ev

    def message(
        self,
        sent_at: datetime,
        *,
        sender: str,
        to: list[str],
        subject: str = "Proposal",
        text: str = "",
        thread: str = "t1",
        direction: str | None = None,
        tag: str = "",
    ) -> Message:
        direction = direction or ("out" if sender == self.owner.email else "in")
        n = next(_ids)
        m = Message(
            owner_id=self.owner_id,
            account_id=self.account.id,
            provider_id=f"m{n}",
            thread_id=thread,
            rfc822_id=f"<m{n}@mail.test>",
            from_addr=sender,
            from_name=sender.split("@")[0].title(),
            to_addrs=to,
            sent_at=sent_at,
            subject=subject,
            direction=direction,
            new_text=text,
            has_text=bool(text),
            rapportd_tag=tag,
        )
        self.session.add(m)
        self.session.flush()
        return m

    def commitment(
        self,
        message: Message,
        *,
        kind: str = "commitment",
        direction: str = "by_owner",
        text: str = "I'll send you the revised quote",
        due: datetime | None = None,
        state: str = "open",
        contact: Contact | None = None,
        rule: str = "",
    ) -> Commitment:
        other = message.to_addrs[0] if message.direction == "out" else message.from_addr
        c = Commitment(
            owner_id=self.owner_id,
            dedupe_key=f"c{next(_ids)}",
            message_id=message.id,
            contact_id=contact.id if contact else None,
            kind=kind,
            direction=direction,
            by_addr=self.owner.email if direction == "by_owner" else other,
            to_addr=other if direction == "by_owner" else self.owner.email,
            text=text,
            due_at=due,
            due_text="by Friday" if due else "",
            state=state,
            thread_id=message.thread_id,
            reasons={"rule": rule} if rule else {},
        )
        self.session.add(c)
        self.session.flush()
        return c
