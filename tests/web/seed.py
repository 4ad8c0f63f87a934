"""Realistic store rows for the web tests: two owners, each with an account, contacts with a
history of mail and meetings, promises, and suggestions of every group in several states
(some already written to the mailbox, with their outbox operations)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.outbox.queue import create_op_name, tag_of
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    ContactIdentity,
    Message,
    OutboxOperation,
    Owner,
    Suggestion,
    SyncRun,
)
from rapportd.agent.web.security import hash_password

PASSWORD = "correct horse battery staple"
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Seeded:
    owner_id: int
    email: str
    account_id: int
    contacts: dict[str, int] = field(default_factory=dict)
    suggestions: dict[str, int] = field(default_factory=dict)


def _contact(
    db: Session,
    owner: Owner,
    name: str,
    address: str,
    *,
    gap: float,
    silence: int,
    stage: str,
    strength: float,
    overdue: float,
) -> Contact:
    c = Contact(
        owner_id=owner.id,
        display_name=name,
        primary_address=address,
        strength=strength,
        stage=stage,
        typical_gap_days=gap,
        overdue_score=overdue,
        last_interaction_at=NOW - timedelta(days=silence),
        first_interaction_at=NOW - timedelta(days=400),
        next_expected_at=NOW - timedelta(days=silence) + timedelta(days=gap),
        interaction_count=24,
        dirty=False,
        analysed_at=NOW,
    )
    db.add(c)
    db.flush()
    db.add(ContactIdentity(owner_id=owner.id, contact_id=c.id, address=address, name=name))
    return c


def _history(
    db: Session, owner: Owner, account: Account, c: Contact, *, gap: int, silence: int
) -> None:
    """Mail both ways every ``gap`` days until ``silence`` days ago."""
    n = 0
    day = 360
    while day > silence:
        at = NOW - timedelta(days=day)
        inbound = n % 2 == 0
        db.add(
            Message(
                owner_id=owner.id,
                account_id=account.id,
                provider_id=f"{account.id}-{c.id}-{n}",
                thread_id=f"t{c.id}x{n // 2}",
                from_addr=c.primary_address if inbound else account.address,
                from_name=c.display_name if inbound else owner.display_name,
                to_addrs=[{"email": account.address if inbound else c.primary_address, "name": ""}],
                sent_at=at,
                subject="Quarterly numbers" if n % 3 else "Lunch?",
                direction="in" if inbound else "out",
                new_text="See you soon.",
                has_text=True,
            )
        )
        n += 1
        day -= gap


def seed_owner(
    factory: sessionmaker[Session],
    email: str,
    name: str,
    *,
    provider: str = "google",
    tz: str = "Europe/Paris",
) -> Seeded:
    with transaction(factory) as db:
        owner = Owner(
            email=email,
            display_name=name,
            timezone=tz,
            password_hash=hash_password(PASSWORD),
            org_domains=[email.split("@")[1]],
        )
        db.add(owner)
        db.flush()
        account = Account(
            owner_id=owner.id,
            provider=provider,
            address=email,
            display_name=name,
            status="ok",
            last_sync_at=NOW - timedelta(minutes=4),
            last_verified_complete_at=NOW - timedelta(hours=3),
        )
        db.add(account)
        db.flush()
        db.add(
            SyncRun(
                owner_id=owner.id,
                account_id=account.id,
                stream="gmail",
                kind="delta",
                started_at=NOW - timedelta(minutes=5),
                finished_at=NOW - timedelta(minutes=4),
                status="ok",
                fetched=12,
                upserted=12,
                requests=9,
                quota_units=41,
            )
        )
        seeded = Seeded(owner_id=owner.id, email=email, account_id=account.id)
        dom = "client.example" if provider == "google" else "partner.example"
        ana = _contact(
            db,
            owner,
            "Ana Lima",
            f"ana@{dom}",
            gap=21,
            silence=63,
            stage="trust",
            strength=0.81,
            overdue=2.4,
        )
        ben = _contact(
            db,
            owner,
            "Ben Okafor",
            f"ben@{dom}",
            gap=10,
            silence=3,
            stage="acceptance",
            strength=0.55,
            overdue=0.1,
        )
        chloe = _contact(
            db,
            owner,
            "Chloé Martin",
            f"chloe@{dom}",
            gap=45,
            silence=20,
            stage="understanding",
            strength=0.32,
            overdue=0.3,
        )
        seeded.contacts = {"ana": ana.id, "ben": ben.id, "chloe": chloe.id}
        _history(db, owner, account, ana, gap=21, silence=63)
        _history(db, owner, account, ben, gap=10, silence=3)
        meeting = CalendarEvent(
            owner_id=owner.id,
            account_id=account.id,
            provider_id=f"ev-{account.id}",
            start_at=NOW - timedelta(hours=20),
            end_at=NOW - timedelta(hours=19),
            summary="Roadmap review",
            organizer=account.address,
            organizer_is_self=True,
            attendees=[
                {"email": ben.primary_address, "name": "Ben Okafor", "response": "accepted"}
            ],
        )
        db.add(meeting)
        promise_msg = Message(
            owner_id=owner.id,
            account_id=account.id,
            provider_id=f"pm-{account.id}",
            thread_id="18c2f0a1b2c3d4e5",
            from_addr=account.address,
            direction="out",
            to_addrs=[{"email": chloe.primary_address, "name": "Chloé Martin"}],
            sent_at=NOW - timedelta(days=6),
            subject="Re: the proposal",
            new_text="I'll send you the revised proposal by Friday.",
            has_text=True,
        )
        db.add(promise_msg)
        db.flush()
        promise = Commitment(
            owner_id=owner.id,
            dedupe_key=f"c-{account.id}",
            message_id=promise_msg.id,
            contact_id=chloe.id,
            kind="commitment",
            direction="by_owner",
            by_addr=account.address,
            to_addr=chloe.primary_address,
            text="I'll send you the revised proposal by Friday.",
            due_at=NOW + timedelta(days=2),
            due_text="by Friday",
            confidence=0.92,
            state="open",
            thread_id="18c2f0a1b2c3d4e5",
        )
        db.add(promise)
        db.flush()
        specs = [
            (
                "thank_you",
                "written",
                dict(
                    title="Thank Ben Okafor for “Roadmap review”",
                    contact_id=ben.id,
                    event_id=meeting.id,
                    to_addrs=[[ben.primary_address, "Ben Okafor"]],
                    subject="Thank you for today",
                    body="Hi Ben,\n\nThank you for the roadmap review today. It helped a lot.\n\nBest,\n"
                    + name
                    + "\n",
                    reasons={
                        "why": "You met Ben Okafor yesterday (Roadmap review), people outside your organisation, and have not written to them since.",
                        "meeting": "Roadmap review",
                        "ended_at": (NOW - timedelta(hours=19)).isoformat(),
                    },
                    created_at=NOW - timedelta(hours=18),
                ),
            ),
            (
                "promise_hold",
                "written",
                dict(
                    title="Time to do what you promised Chloé Martin",
                    contact_id=chloe.id,
                    commitment_id=promise.id,
                    to_addrs=[[chloe.primary_address, "Chloé Martin"]],
                    subject="Hold: revised proposal (Chloé)",
                    body="Promised on the thread “the proposal”.",
                    hold_start=NOW + timedelta(days=1, hours=2),
                    hold_end=NOW + timedelta(days=1, hours=3),
                    reasons={
                        "why": "You promised “I'll send you the revised proposal by Friday.” by Friday; this is a free 60-minute slot before then.",
                        "promise": "I'll send you the revised proposal by Friday.",
                        "due_at": (NOW + timedelta(days=2)).isoformat(),
                    },
                    created_at=NOW - timedelta(hours=5),
                ),
            ),
            (
                "check_in",
                "written",
                dict(
                    title="Check in with Ana Lima",
                    contact_id=ana.id,
                    to_addrs=[[ana.primary_address, "Ana Lima"]],
                    subject="How are things?",
                    body="Hi Ana,\n\nIt has been a while. How did the quarterly numbers land?\n\nBest,\n"
                    + name
                    + "\n",
                    reasons={
                        "why": "No contact with Ana Lima for 63 days; you usually are in touch every 21 days (overdue score 2.4, stage trust).",
                        "silence_days": 63,
                        "typical_gap_days": 21,
                        "overdue_score": 2.4,
                        "stage": "trust",
                    },
                    created_at=NOW - timedelta(hours=30),
                ),
            ),
            (
                "reply_needed",
                "proposed",
                dict(
                    title="Answer Ben Okafor",
                    contact_id=ben.id,
                    to_addrs=[[ben.primary_address, "Ben Okafor"]],
                    subject="Re: Lunch?",
                    body="Hi Ben,\n\nYes, Thursday works for me.\n\nBest,\n" + name + "\n",
                    reasons={
                        "why": "Ben Okafor asked “Could we have lunch on Thursday?” 3 business days ago.",
                        "request": "Could we have lunch on Thursday?",
                        "asked_at": (NOW - timedelta(days=4)).isoformat(),
                        "business_days": 3,
                    },
                    created_at=NOW - timedelta(hours=2),
                ),
            ),
            (
                "promise_follow_up",
                "written",
                dict(
                    title="Deliver your promise to Chloé Martin",
                    contact_id=chloe.id,
                    commitment_id=promise.id,
                    to_addrs=[[chloe.primary_address, "Chloé Martin"]],
                    subject="Re: the proposal",
                    body="Hi Chloé,\n\nHere is the revised proposal, as promised.\n\nBest,\n"
                    + name
                    + "\n",
                    reasons={
                        "why": "You promised “I'll send you the revised proposal by Friday.” by Friday; that is close.",
                        "promise": "I'll send you the revised proposal by Friday.",
                        "due_at": (NOW + timedelta(days=2)).isoformat(),
                    },
                    created_at=NOW - timedelta(hours=1),
                ),
            ),
        ]
        for key, status, fields in specs:
            s = Suggestion(
                owner_id=owner.id,
                dedupe_key=f"{key}:{owner.id}",
                kind=key,
                account_id=account.id,
                status=status,
                evidence="e1",
                score=0.7,
                **fields,
            )
            db.add(s)
            db.flush()
            seeded.suggestions[key] = s.id
            if status == "written":
                db.add(
                    OutboxOperation(
                        owner_id=owner.id,
                        suggestion_id=s.id,
                        account_id=account.id,
                        op=create_op_name(s),
                        tag=tag_of(s),
                        state="written",
                        payload={"subject": s.subject, "body": s.body},
                        provider_item_id=f"item-{s.id}",
                        written_hash="h-" + str(s.id),
                        written_at=s.created_at,
                    )
                )
    return seeded
