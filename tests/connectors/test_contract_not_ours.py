"""Never touch what is not ours (issue 16): against a sandbox that answers rapportd's tag
filters loosely (every draft, message and event matches), the owner's own drafts and
meetings are never adopted, changed or removed — through the real connectors and the real
outbox, on every path that removes a written item (dismiss, moot, expiry) and on an op
whose recorded item id points at the owner's own item (what a loose adoption once did)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rapportd.agent.core.errors import NotOurs
from rapportd.agent.outbox.operations import process_operation
from rapportd.agent.outbox.queue import create_op, enqueue
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, CalendarEvent, OutboxOperation, Suggestion
from rapportd.agent.suggest.planner import retire
from rapportd.connectors.factory import connector_for
from rapportd.connectors.sandbox import graph_ids as gid
from rapportd.connectors.sandbox.state import Sandbox
from rapportd.connectors.sync.account import sync_account

from .conftest import World, make_world
from .world import PEOPLE, raw_message

PATHS = [("dismissed", "dismissed"), ("moot", "expired"), ("expired", "expired")]


@pytest.fixture
def loose(provider: str, sqlite_engine: Any) -> Iterator[World]:
    yield from make_world(provider, sqlite_engine, sandbox=Sandbox(loose_tag_filters=True))


def connector(world: World) -> Any:
    with transaction(world.sessions) as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        return connector_for(account, world.settings, session)


def own_draft(world: World) -> tuple[str, bytes]:
    """A draft the owner wrote (no rapportd tag): its provider id and its raw bytes."""
    raw = raw_message(world.address, PEOPLE[0], "My own draft", "Mine.\n", datetime.now(UTC))
    draft = world.mailbox.create_draft(raw)
    if world.provider == "google":
        return draft.id, raw
    return gid.message_id(draft.message_id, "drafts", True), raw


def own_events(world: World) -> dict[str, tuple[Any, Any, str]]:
    return {
        e.id: (e.start, e.end, e.summary) for e in world.mailbox.events.values() if not e.deleted
    }


def own_drafts(world: World) -> set[bytes]:
    box = world.mailbox
    return {box.messages[d.message_id].raw for d in box.drafts.values()}


def suggestion(world: World, kind: str, key: str) -> int:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    with transaction(world.sessions) as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        s = Suggestion(
            owner_id=account.owner_id,
            account_id=account.id,
            dedupe_key=key,
            kind=kind,
            status="proposed",
            to_addrs=[[PEOPLE[1], ""]],
            subject=f"rapportd {key}",
            body="Hello from rapportd.",
            hold_start=start,
            hold_end=start + timedelta(minutes=30),
        )
        session.add(s)
        session.flush()
        payload = (
            {
                "summary": s.subject,
                "description": s.body,
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat(),
                "timezone": "UTC",
            }
            if kind == "promise_hold"
            else {"to": [[PEOPLE[1], ""]], "subject": s.subject, "body": s.body}
        )
        op = "create_hold" if kind == "promise_hold" else "create_draft"
        enqueue(session, s, op, now=datetime.now(UTC), payload=payload)
        return s.id


def run_ready(world: World, conn: Any) -> list[tuple[str, str, str]]:
    """Process every ready op; (op, state, last_error) of each."""
    out = []
    with world.sessions() as session:
        ids = list(
            session.scalars(select(OutboxOperation.id).where(OutboxOperation.state == "pending"))
        )
    for op_id in ids:
        process_operation(world.sessions, op_id, lambda _a: conn, now=datetime.now(UTC))
        with world.sessions() as session:
            row = session.get(OutboxOperation, op_id)
            assert row is not None
            out.append((row.op, row.state, row.last_error))
    return out


def retire_it(world: World, sid: int, status: str, final: str) -> None:
    with transaction(world.sessions) as session:
        s = session.get(Suggestion, sid)
        assert s is not None
        retire(session, s, status, now=datetime.now(UTC), final=final)


@pytest.mark.parametrize(("status", "final"), PATHS)
def test_owner_items_survive_every_removal_path_under_loose_filters(
    loose: World, status: str, final: str
) -> None:
    world = loose
    _draft_id, draft_raw = own_draft(world)
    events_before, drafts_before = own_events(world), own_drafts(world)
    conn = connector(world)
    try:
        ids = [suggestion(world, "reply_needed", "d1"), suggestion(world, "promise_hold", "h1")]
        created = run_ready(world, conn)
        assert [state for _op, state, _e in created] == ["written", "written"]
        # rapportd made its own items, it adopted none of the owner's
        with world.sessions() as session:
            written = {op.provider_item_id for op in session.scalars(select(OutboxOperation))}
        assert not written & set(events_before)
        assert draft_raw in own_drafts(world)
        for sid in ids:
            retire_it(world, sid, status, final)
        removed = run_ready(world, conn)
        assert [(op, state) for op, state, _e in removed] == [
            ("delete_draft", "written"),
            ("delete_hold", "written"),
        ]
    finally:
        conn.close()
    # what rapportd wrote is gone; every item of the owner is as it was
    assert own_events(world) == events_before
    assert own_drafts(world) == drafts_before


def test_an_op_pointing_at_the_owners_items_never_touches_them(loose: World) -> None:
    """The create ops are recorded (as a loose adoption once did) with the owner's own
    draft and meeting as their items, hashes included: a dismiss, a moot and a confirm
    are all refused with the reason recorded, and the owner's items stay as they are."""
    world = loose
    draft_id, _raw = own_draft(world)
    sync_account(world.sessions, world.account_id, world.settings)
    with world.sessions() as session:
        meeting = session.scalars(
            select(CalendarEvent).where(CalendarEvent.deleted.is_(False))
        ).first()
        assert meeting is not None
        meeting_id = meeting.provider_id
    events_before, drafts_before = own_events(world), own_drafts(world)
    conn = connector(world)
    try:
        draft_state = conn.draft_state(draft_id, "nobody")
        hold_state = conn.hold_state(meeting_id, "nobody")
        assert draft_state.exists and hold_state.exists
        sids = {
            "draft": suggestion(world, "reply_needed", "d2"),
            "hold": suggestion(world, "promise_hold", "h2"),
            "hold2": suggestion(world, "promise_hold", "h3"),
        }
        with transaction(world.sessions) as session:
            for name, sid in sids.items():
                s = session.get(Suggestion, sid)
                assert s is not None
                op = create_op(session, s)
                assert op is not None
                state = draft_state if name == "draft" else hold_state
                op.state, op.provider_item_id = "written", state.provider_id
                op.written_hash = state.content_hash
                s.status = "written"
        retire_it(world, sids["draft"], "dismissed", "dismissed")
        retire_it(world, sids["hold"], "moot", "expired")
        with transaction(world.sessions) as session:
            s = session.get(Suggestion, sids["hold2"])
            assert s is not None
            enqueue(session, s, "confirm_hold", now=datetime.now(UTC), payload={})
        results = run_ready(world, conn)
        # and the connectors refuse it themselves, whoever calls them
        with pytest.raises(NotOurs):
            conn.delete_hold(meeting_id, tag="sugg:x", expected_hash=hold_state.content_hash)
        with pytest.raises(NotOurs):
            conn.delete_draft(draft_id, tag="sugg:x", expected_hash=draft_state.content_hash)
        with pytest.raises(NotOurs):
            conn.confirm_hold(meeting_id, tag="sugg:x")
    finally:
        conn.close()
    assert sorted(op for op, _s, _e in results) == ["confirm_hold", "delete_draft", "delete_hold"]
    for _op, state, error in results:
        assert state == "skipped"
        assert error.startswith("not ours")
    assert own_events(world) == events_before
    assert own_drafts(world) == drafts_before
