"""Write-back contract: exactly one draft / hold per tag, threading, conflicts, fates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rapportd.agent.core import clock
from rapportd.agent.core.errors import Conflict
from rapportd.agent.core.records import Address, DraftSpec, HoldSpec, draft_hash, hold_hash
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, Message
from rapportd.connectors.factory import connector_for
from rapportd.connectors.sandbox.state import Sandbox
from rapportd.connectors.sync.account import sync_account

from .conftest import World, make_world


@pytest.fixture(params=["strict", "loose"])
def world(provider: str, sqlite_engine: Any, request: pytest.FixtureRequest) -> Iterator[World]:
    """Every write contract holds against a sandbox that honours rapportd's tag filters and
    against one that ignores them (``loose_tag_filters``: the tag is checked on the item)."""
    loose = request.param == "loose"
    yield from make_world(provider, sqlite_engine, sandbox=Sandbox(loose_tag_filters=loose))


@pytest.fixture
def conn(world: World) -> Iterator[Any]:
    with transaction(world.sessions) as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        c = connector_for(account, world.settings, session)
    yield c
    c.close()


def fresh(world: World) -> Any:
    """A second connector, as a retry in another process would build it."""
    with transaction(world.sessions) as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        return connector_for(account, world.settings, session)


def drafts_with_tag(world: World, tag: str) -> list[Any]:
    box = world.mailbox
    return [
        d
        for d in box.drafts.values()
        if tag.encode() in box.messages[d.message_id].raw
        or tag in str(box.messages[d.message_id].extra)
    ]


def reply_spec(world: World, tag: str) -> DraftSpec:
    sync_account(world.sessions, world.account_id, world.settings, streams=[_mail_stream(world)])
    with world.sessions() as s:
        original = s.scalars(
            select(Message).where(Message.direction == "in").order_by(Message.sent_at.desc())
        ).first()
    assert original is not None
    return DraftSpec(
        tag=tag,
        to=[Address.of(original.from_addr)],
        subject=f"Re: {original.subject}",  # as the planner writes it (the connector keeps it)
        body="Thank you, I will send it tomorrow.",
        reply_to_provider_id=original.provider_id,
        thread_id=original.thread_id,
        in_reply_to=original.rfc822_id,
        references=list(original.references),
    )


def _mail_stream(world: World) -> str:
    return "gmail" if world.provider == "google" else "graph_inbox"


def test_reply_draft_is_threaded_and_made_once(world: World, conn: Any) -> None:
    spec = reply_spec(world, "sugg:reply:1")
    made = conn.create_draft(spec)
    assert made.status == "draft" and made.content_hash == draft_hash(spec)
    again = fresh(world).create_draft(spec)  # a retry after a crash before "recorded"
    assert again.provider_id == made.provider_id
    tagged = drafts_with_tag(world, "sugg:reply:1")
    assert len(tagged) == 1
    box = world.mailbox
    msg = box.messages[tagged[0].message_id]
    original_thread = {
        m.thread_id for m in box.messages.values() if m.header("Message-ID") == spec.in_reply_to
    }
    assert msg.thread_id in original_thread
    assert (msg.header("Subject") or "").lower().startswith("re:")
    if world.provider == "google":
        assert msg.header("In-Reply-To") == spec.in_reply_to
        assert spec.in_reply_to in (msg.header("References") or "")
    assert conn.find_draft("sugg:reply:1").provider_id == made.provider_id
    state = conn.draft_state(made.provider_id, spec.tag)
    assert state.status == "draft" and state.content_hash == made.content_hash


def test_reply_draft_edit_reaches_the_mailbox(world: World, conn: Any) -> None:
    """An edit of a reply's subject, recipients and text is what the mailbox then holds (an
    Outlook reply used to keep its "RE:" subject whatever the owner wrote); the draft hands
    back a link to itself in the provider's web app."""
    spec = reply_spec(world, "sugg:reply:edit")
    made = conn.create_draft(spec)
    assert made.web_link.startswith("https://")
    edited = DraftSpec(
        tag=spec.tag,
        to=[*spec.to, Address.of("zoe@partner.example", "Zoe")],
        subject=f"Re: {spec.subject} (the figures)",
        body="Here are the figures, as promised.",
        reply_to_provider_id=spec.reply_to_provider_id,
        thread_id=spec.thread_id,
        in_reply_to=spec.in_reply_to,
        references=spec.references,
    )
    updated = conn.update_draft(made.provider_id, edited, expected_hash=made.content_hash)
    (draft,) = drafts_with_tag(world, spec.tag)
    msg = world.mailbox.messages[draft.message_id]
    assert msg.header("Subject") == f"Re: {spec.subject} (the figures)"
    assert "zoe@partner.example" in (msg.header("To") or "")
    assert b"Here are the figures" in msg.raw
    state = conn.draft_state(updated.provider_id, spec.tag)
    assert state.content_hash == draft_hash(edited) == updated.content_hash
    assert updated.web_link.startswith("https://")


def test_new_draft_update_delete_and_conflict(world: World, conn: Any) -> None:
    spec = DraftSpec(
        tag="sugg:new:1",
        to=[Address.of("ann@client.example")],
        subject="Checking in",
        body="Hi Ann",
    )
    made = conn.create_draft(spec)
    assert conn.find_draft("sugg:other") is None
    spec2 = DraftSpec(
        tag="sugg:new:1", to=spec.to, subject="Checking in", body="Hi Ann, how are you?"
    )
    updated = conn.update_draft(made.provider_id, spec2, expected_hash=made.content_hash)
    assert updated.content_hash == draft_hash(spec2)
    assert conn.draft_state(updated.provider_id, spec.tag).content_hash == draft_hash(spec2)
    # the person edits it: rapportd must not touch it any more
    with pytest.raises(Conflict):
        conn.update_draft(updated.provider_id, spec, expected_hash=made.content_hash)
    with pytest.raises(Conflict):
        conn.delete_draft(updated.provider_id, tag=spec.tag, expected_hash=made.content_hash)
    conn.delete_draft(updated.provider_id, tag=spec.tag, expected_hash=updated.content_hash)
    assert drafts_with_tag(world, "sugg:new:1") == []
    conn.delete_draft(updated.provider_id, tag=spec.tag)  # gone already: fine
    assert conn.draft_state(updated.provider_id, spec.tag).status == "deleted"


def test_sent_draft_is_seen_as_sent(world: World, conn: Any) -> None:
    spec = DraftSpec(
        tag="sugg:send:1",
        to=[Address.of("bob@partner.example")],
        subject="Report",
        body="Here it is",
    )
    made = conn.create_draft(spec)
    (draft,) = drafts_with_tag(world, "sugg:send:1")
    world.mailbox.send_draft(draft.id)
    state = conn.draft_state(made.provider_id, spec.tag)
    assert state.status == "sent" and state.sent_message_id
    assert state.content_hash == draft_hash(spec)
    assert len(world.mailbox.drafts) == 0


def hold_events(world: World, tag: str) -> list[Any]:
    return [
        e
        for e in world.mailbox.events.values()
        if (not e.deleted and tag in (e.private_props.values() if e.private_props else ()))
        or (not e.deleted and tag in str(e.extra))
    ]


def test_hold_made_once_private_tentative(world: World, conn: Any) -> None:
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    spec = HoldSpec(
        tag="sugg:hold:1",
        summary="Hold: report for Ann",
        start=start,
        end=start + timedelta(hours=1),
    )
    made = conn.create_hold(spec)
    assert made.status == "tentative" and made.content_hash == hold_hash(spec)
    assert made.web_link.startswith("https://")  # the event itself, for the review page
    again = fresh(world).create_hold(spec)
    assert again.provider_id == made.provider_id and again.web_link == made.web_link
    live = [e for e in world.mailbox.events.values() if not e.deleted and e.summary == spec.summary]
    assert len(live) == 1
    assert live[0].attendees == [] and live[0].status in ("tentative", "confirmed")
    assert conn.find_hold("sugg:hold:1").provider_id == made.provider_id
    assert conn.hold_state(made.provider_id, spec.tag).status == "tentative"
    conn.confirm_hold(made.provider_id, tag=spec.tag)
    assert conn.hold_state(made.provider_id, spec.tag).status == "confirmed"


def test_hold_moved_by_person_is_not_deleted(world: World, conn: Any) -> None:
    start = clock.now().replace(microsecond=0) + timedelta(days=4)
    spec = HoldSpec(
        tag="sugg:hold:2", summary="Hold: call Bob", start=start, end=start + timedelta(hours=1)
    )
    made = conn.create_hold(spec)
    (event,) = [e for e in world.mailbox.events.values() if e.summary == spec.summary]
    world.mailbox.update_event(
        event.id, start=start + timedelta(hours=2), end=start + timedelta(hours=3)
    )
    state = conn.hold_state(made.provider_id, spec.tag)
    assert state.start == start + timedelta(hours=2)
    with pytest.raises(Conflict):
        conn.delete_hold(made.provider_id, tag=spec.tag, expected_hash=made.content_hash)
    conn.delete_hold(made.provider_id, tag=spec.tag, expected_hash=state.content_hash)
    assert conn.hold_state(made.provider_id, spec.tag).status == "cancelled"
    conn.delete_hold(made.provider_id, tag=spec.tag)  # already gone: fine


def test_busy_lists_meetings(world: World, conn: Any) -> None:
    now = clock.now()
    busy = conn.busy(now - timedelta(days=60), now + timedelta(days=60))
    assert busy and all(s < e for s, e in busy)
