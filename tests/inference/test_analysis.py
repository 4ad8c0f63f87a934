"""analysis.py against a real store (SQLite and PostgreSQL): contacts, identities,
incremental re-analysis, explicit decisions, commitments and tenant safety."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.analysis.analyse import analyse_owner
from rapportd.agent.analysis.dirty import mark_dirty
from rapportd.agent.core.settings import load_settings
from rapportd.agent.inference import commitments, fulfilment
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    ContactDecision,
    ContactIdentity,
    Message,
    Owner,
)

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
_pid = count(1)


def add_owner(s: Session, email: str) -> tuple[Owner, Account]:
    owner = Owner(email=email, org_domains=["acme.com"])
    s.add(owner)
    s.flush()
    account = Account(
        owner_id=owner.id, provider="google", address=email, aliases=["alias@acme.com"]
    )
    s.add(account)
    s.flush()
    return owner, account


def add_msg(
    s: Session,
    account: Account,
    days_ago: float,
    sender: str,
    to: list[str],
    *,
    out: bool,
    **kw: Any,
) -> Message:
    m = Message(
        owner_id=account.owner_id,
        account_id=account.id,
        provider_id=f"p{next(_pid)}",
        from_addr=sender,
        from_name=kw.pop("from_name", ""),
        to_addrs=[{"email": a, "name": kw.pop("to_name", "")} for a in to],
        sent_at=NOW - timedelta(days=days_ago),
        direction="out" if out else "in",
        word_count=50,
        **kw,
    )
    s.add(m)
    return m


def seed(s: Session, email: str = "me@acme.com") -> tuple[Owner, Account]:
    owner, acc = add_owner(s, email)
    for k in range(30):  # weekly with ann, both ways
        mine, hers = (7 * k + 3, 7 * k + 2.9) if k % 2 else (7 * k + 2.9, 7 * k + 3)
        add_msg(s, acc, mine, email, ["ann@client.com"], out=True, thread_id=f"a{k}")
        add_msg(
            s,
            acc,
            hers,
            "ann@client.com",
            [email],
            out=False,
            thread_id=f"a{k}",
            from_name="Ann Lee",
        )
    for k in range(4):  # bob writes from two addresses under the same name and local part
        add_msg(s, acc, 30 * k + 5, "bob@old.com", [email], out=False, from_name="Bob Stone")
        add_msg(s, acc, 30 * k + 20, "bob@new.com", [email], out=False, from_name="Stone, Bob")
        add_msg(s, acc, 30 * k + 4, email, ["bob@old.com"], out=True)
    for k in range(8):
        add_msg(s, acc, k, "deals@shop.com", [email], out=False, list_unsubscribe=True)
    add_msg(s, acc, 1, "alias@acme.com", ["carl@acme.com"], out=True, new_text="x")
    add_msg(
        s,
        acc,
        2,
        "carl@acme.com",
        ["alias@acme.com"],
        out=False,
        new_text="Can you review it?",
        thread_id="c1",
    )
    s.add(
        CalendarEvent(
            owner_id=owner.id,
            account_id=acc.id,
            provider_id=f"e{next(_pid)}",
            start_at=NOW - timedelta(days=10),
            end_at=NOW - timedelta(days=10, hours=-1),
            attendees=[
                {"email": "dora@partner.org", "response": "accepted"},
                {"email": email, "response": "accepted", "self": True},
            ],
        )
    )
    s.flush()
    return owner, acc


def contacts_by_address(s: Session, owner_id: int) -> dict[str, Contact]:
    rows = s.execute(
        select(ContactIdentity.address, Contact)
        .join(Contact, Contact.id == ContactIdentity.contact_id)
        .where(ContactIdentity.owner_id == owner_id)
    ).all()
    return {a: c for a, c in rows}


def test_first_analysis_builds_contacts(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        owner, _ = seed(s)
        summary = analyse_owner(s, owner.id, now=NOW, settings=load_settings(), detector=None)
        by = contacts_by_address(s, owner.id)
        assert (
            "alias@acme.com" not in by and "me@acme.com" not in by
        )  # the owner is nobody's contact
        assert by["bob@old.com"].id == by["bob@new.com"].id  # one person
        assert by["deals@shop.com"].is_automated and by["deals@shop.com"].automated_reasons
        ann = by["ann@client.com"]
        assert not ann.is_internal and by["carl@acme.com"].is_internal
        assert ann.display_name == "Ann Lee"
        assert ann.typical_gap_days is not None and 5 < ann.typical_gap_days < 9
        assert ann.stage in ("trust", "bond") and ann.strength is not None and ann.strength > 0.5
        assert ann.overdue_score is not None and ann.overdue_score < 1
        assert {"rhythm", "strength", "stage", "counts"} <= set(ann.analysis)
        assert by["dora@partner.org"].interaction_count == 1  # the meeting
        assert not ann.dirty and ann.analysed_at == NOW
        carl = by["carl@acme.com"]
        assert [t["waiting"] for t in carl.analysis["threads"]] == ["owner"]
        assert summary.contacts_created == summary.contacts_total == 5
        # carl asks; bob's 8 messages start threads the owner never answered in
        assert summary.automated == 1 and summary.waiting_for_owner == 9


def test_reanalysis_touches_only_dirty_contacts(sessions: sessionmaker[Session]) -> None:
    later = NOW + timedelta(days=2)
    with sessions.begin() as s:
        owner, acc = seed(s)
        analyse_owner(s, owner.id, now=NOW, settings=load_settings(), detector=None)
    with sessions.begin() as s:
        assert analyse_owner(s, owner.id, now=later, detector=None).skipped  # nothing new
    with sessions.begin() as s:
        acc = s.get(Account, acc.id)
        assert acc is not None
        add_msg(s, acc, -1, "me@acme.com", ["bob@new.com"], out=True)
        s.flush()
        assert mark_dirty(s, owner.id, ["BOB@new.com"]) == 1
        summary = analyse_owner(s, owner.id, now=later, detector=None)
        assert summary.contacts_analysed == 1
    with sessions.begin() as s:
        by = contacts_by_address(s, owner.id)
        assert by["bob@old.com"].analysed_at == later
        assert by["ann@client.com"].analysed_at == NOW  # not rewritten
        assert by["deals@shop.com"].analysed_at == NOW


def test_new_address_creates_a_contact_without_mark_dirty(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        owner, acc = seed(s)
        analyse_owner(s, owner.id, now=NOW, detector=None)
        add_msg(s, acc, 0.5, "eve@new.org", ["me@acme.com"], out=False)
        s.flush()
        summary = analyse_owner(s, owner.id, now=NOW + timedelta(hours=1), detector=None)
        assert summary.contacts_created == 1 and summary.contacts_analysed == 1


def test_explicit_merge_and_split(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        owner, _ = seed(s)
        analyse_owner(s, owner.id, now=NOW, detector=None)
        by = contacts_by_address(s, owner.id)
        s.add(
            Commitment(
                owner_id=owner.id,
                dedupe_key="k",
                kind="request",
                direction="to_owner",
                text="t",
                contact_id=by["dora@partner.org"].id,
            )
        )
        s.add(
            ContactDecision(
                owner_id=owner.id,
                address_a="ann@client.com",
                address_b="dora@partner.org",
                decision="merge",
            )
        )
        s.add(
            ContactDecision(
                owner_id=owner.id,
                address_a="bob@old.com",
                address_b="bob@new.com",
                decision="split",
            )
        )
        s.flush()
        summary = analyse_owner(s, owner.id, now=NOW + timedelta(minutes=5), detector=None)
        by = contacts_by_address(s, owner.id)
        assert by["ann@client.com"].id == by["dora@partner.org"].id
        assert by["bob@old.com"].id != by["bob@new.com"].id
        assert summary.contacts_merged == 1
        c = s.scalars(select(Commitment).where(Commitment.owner_id == owner.id)).one()
        assert c.contact_id == by["ann@client.com"].id  # follows the survivor


@dataclass
class FakeDetected:
    kind: str
    by: str
    to: str
    text: str
    due: datetime | None = None
    due_text: str = ""
    confidence: float = 0.8
    reasons: dict[str, Any] = field(default_factory=dict)


def fake_detect(
    text: str, *, sent_at: datetime, sender: str = "", recipients: tuple[str, ...] = (), **_: Any
) -> list[FakeDetected]:
    if "?" in text:
        return [
            FakeDetected(
                "request",
                sender,
                recipients[0] if recipients else "",
                text,
                reasons={"rule": "question"},
            )
        ]
    return []


def test_commitments_are_upserted_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        owner, _ = seed(s)
        first = analyse_owner(s, owner.id, now=NOW, detector=fake_detect)
        again = analyse_owner(
            s, owner.id, now=NOW + timedelta(hours=1), detector=fake_detect, full=True
        )
        rows = s.scalars(select(Commitment).where(Commitment.owner_id == owner.id)).all()
        assert first.commitments_upserted == again.commitments_upserted == 1
        assert len(rows) == 1
        by = contacts_by_address(s, owner.id)
        assert rows[0].contact_id == by["carl@acme.com"].id
        assert rows[0].direction == "to_owner" and rows[0].reasons["rule"] == "question"
        assert rows[0].by_addr == "carl@acme.com" and rows[0].to_addr == "alias@acme.com"


def test_owners_never_see_each_other(sessions: sessionmaker[Session]) -> None:
    later = NOW + timedelta(hours=1)
    with sessions.begin() as s:
        one, acc1 = seed(s, "me@acme.com")
        add_msg(s, acc1, 3, "secret@one.org", ["me@acme.com"], out=False)  # only one knows them
        two, _ = seed(s, "you@acme.com")
        analyse_owner(s, one.id, now=NOW, detector=None)
        assert s.scalars(select(Contact).where(Contact.owner_id == two.id)).all() == []
        analyse_owner(s, two.id, now=later, detector=None)
        by_one, by_two = contacts_by_address(s, one.id), contacts_by_address(s, two.id)
        # owner two's contacts are exactly the people of owner two's own mail: nothing of
        # owner one's mailbox (owner one's address, owner one's private correspondent)
        assert set(by_two) == {
            "ann@client.com",
            "bob@old.com",
            "bob@new.com",
            "carl@acme.com",
            "deals@shop.com",
            "dora@partner.org",
        }
        assert set(by_one) == set(by_two) | {"secret@one.org"}
        a1, a2 = by_one["ann@client.com"], by_two["ann@client.com"]
        assert a1.id != a2.id and a1.owner_id == one.id and a2.owner_id == two.id
        assert a2.interaction_count == a1.interaction_count  # not fed owner one's messages
        assert all(c.analysed_at == NOW for c in by_one.values())  # two's run left one alone
        foreign = s.scalars(
            select(ContactIdentity)
            .join(Contact, Contact.id == ContactIdentity.contact_id)
            .where(Contact.owner_id == two.id, ContactIdentity.owner_id != two.id)
        ).all()
        assert foreign == []
        mark_dirty(s, two.id, ["ann@client.com"])
        assert not s.get(Contact, a1.id).dirty  # type: ignore[union-attr]


def test_real_detector_finds_the_request(sessions: sessionmaker[Session]) -> None:
    found = commitments.detect(
        "Can you review it?", sent_at=NOW, sender="carl@acme.com", recipients=["alias@acme.com"]
    )
    assert [(d.kind, d.by) for d in found] == [("request", "carl@acme.com")]
    with sessions.begin() as s:
        owner, _ = seed(s)
        summary = analyse_owner(s, owner.id, now=NOW, detector=True)
        rows = s.scalars(select(Commitment).where(Commitment.owner_id == owner.id)).all()
        assert summary.commitments_upserted == len(rows) >= 1
        req = [r for r in rows if r.kind == "request"]
        assert req and req[0].direction == "to_owner" and req[0].by_addr == "carl@acme.com"
        assert req[0].contact_id == contacts_by_address(s, owner.id)["carl@acme.com"].id
        assert req[0].reasons["rule"] == found[0].reasons["rule"]  # the real detector's finding


def test_contacts_command_lists_the_analysis(
    sqlite_url: str, sqlite_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from rapportd.agent.cli.main import app
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import session_factory

    with session_factory(sqlite_engine).begin() as s:
        seed(s)
    monkeypatch.setenv("RAPPORTD_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["contacts", "--analyse", "--json", "--sort", "strength"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["contact"] == "ann@client.com"  # the strongest relationship first
    assert all(not r["automated"] for r in rows)
    assert {"strength", "stage", "rhythm", "last_contact", "overdue_score", "open_promises"} <= set(
        rows[0]
    )
    table = CliRunner().invoke(app, ["contacts", "--owner", "me@acme.com"])
    assert table.exit_code == 0 and "Ann Lee" in table.stdout
    missing = CliRunner().invoke(app, ["contacts", "--owner", "nobody@x.com"])
    assert missing.exit_code == 2


def test_kept_promise_is_judged_by_fulfilment(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        owner, acc = seed(s)
        add_msg(
            s,
            acc,
            6,
            "me@acme.com",
            ["dora@partner.org"],
            out=True,
            thread_id="d1",
            new_text="I will send you the pricing sheet by Friday.",
        )
        delivery = add_msg(
            s,
            acc,
            4,
            "me@acme.com",
            ["dora@partner.org"],
            out=True,
            thread_id="d1",
            new_text="Attached is the pricing sheet, as promised.",
            has_attachments=True,
        )
        s.flush()
        analyse_owner(s, owner.id, now=NOW, detector=True)
        dora = contacts_by_address(s, owner.id)["dora@partner.org"]
        rows = s.scalars(
            select(Commitment).where(
                Commitment.owner_id == owner.id, Commitment.contact_id == dora.id
            )
        ).all()
        promise = [r for r in rows if r.kind == "commitment" and r.direction == "by_owner"]
        assert promise, [(r.kind, r.direction, r.text) for r in rows]
        assert promise[0].state == "kept" and promise[0].resolved_by_message_id == delivery.id
        shared = fulfilment.key_words(promise[0].text) & fulfilment.key_words(delivery.new_text)
        assert promise[0].reasons["fulfilment"]["shared_words"] == sorted(shared) != []


@pytest.mark.parametrize(
    ("opening", "cc", "asked"),
    [
        ("Bonnie:  Please forward to Michael Kirby.", [], None),  # asks someone not on it
        ("Bonnie:  Please forward to Michael Kirby.", ["mkirby@law.example"], "mkirby"),
        ("Bonnie:  Thanks for this.", [], "blh"),  # no relay: Bonnie is asked
    ],
)
def test_an_ask_after_a_relay_line_belongs_to_the_person_it_is_handed_to(
    sessions: sessionmaker[Session], opening: str, cc: list[str], asked: str | None
) -> None:
    with sessions.begin() as s:
        owner, acc = seed(s)
        add_msg(s, acc, 5, "blh@law.example", ["me@acme.com"], out=False, from_name="Bonnie Hugyez")
        m = add_msg(
            s,
            acc,
            3,
            "me@acme.com",
            ["blh@law.example", *cc],
            out=True,
            thread_id="k1",
            new_text=f"{opening}\nI think the draft looks good.  Could you also prepare a "
            "draft of the letter we discussed yesterday to convey the proposal to the committee?",
        )
        m.to_addrs = [{"email": "blh@law.example", "name": "Bonnie Hugyez"}] + [
            {"email": a, "name": "Michael L. Kirby"} for a in cc
        ]
        s.flush()
        analyse_owner(s, owner.id, now=NOW, detector=True)
        by_id = {c.id: a for a, c in contacts_by_address(s, owner.id).items()}
        rows = s.scalars(
            select(Commitment).where(
                Commitment.owner_id == owner.id, Commitment.text.contains("prepare a draft")
            )
        ).all()
        got = [by_id.get(r.contact_id or 0, "").split("@")[0] for r in rows]
        assert got == ([asked] if asked else []), [(r.text, r.to_addr) for r in rows]


def test_courtesy_invitations_are_not_requests() -> None:
    from rapportd.agent.analysis.store import courtesy_invitation

    for text in (
        "The deck is attached, let me know what you think.",
        "Let me know if you have any questions.",
        "Any thoughts?",
    ):
        assert courtesy_invitation("request", text), text
    for text in ("Let me know by Friday if the terms work.", "Could you send the deck?"):
        assert not courtesy_invitation("request", text), text
    assert not courtesy_invitation("commitment", "Let me know what you think.")
