"""Contract tests of the sync, run against the sandbox for both providers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from rapportd.agent.store.models import Account, CalendarEvent, Message, SyncCursor, SyncRun
from rapportd.connectors.sync.account import sync_account

from .conftest import World
from .snapshots import fresh_snapshot, snapshot
from .world import PEOPLE, raw_message


def live_messages(world: World) -> int:
    with world.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Message).where(Message.deleted.is_(False)))
            or 0
        )


def mutate(world: World) -> dict[str, list[str]]:
    """The person's day: new mail (one a reply), deletions, a trashed one, calendar edits."""
    box = world.mailbox
    now = datetime.now(UTC)
    ids = [m.id for m in box.sorted_messages()]
    first = box.get_message(ids[0])
    new = [
        box.add_message(raw_message(PEOPLE[0], world.address, "Fresh news", "New body\n", now)).id,
        box.add_message(
            raw_message(
                PEOPLE[1],
                world.address,
                "Re: " + (first.header("Subject") or ""),
                "Thanks!\n\n> old\n",
                now,
                reply_to=first.header("Message-ID") or "",
            )
        ).id,
    ]
    deleted = ids[3:5]
    for mid in deleted:
        box.delete_message(mid)
    if world.provider == "google":
        box.modify_labels(ids[6], ["TRASH"], ["INBOX"])
    else:
        box.move_message(ids[6], "deleteditems")
    events = sorted(box.events)
    box.update_event(
        events[0],
        summary="Moved meeting",
        start=now + timedelta(days=2),
        end=now + timedelta(days=2, hours=1),
    )
    box.delete_event(events[1])
    return {"new": new, "deleted": deleted, "trashed": [ids[6]]}


def test_backfill_then_delta_sees_everything_once(world: World) -> None:
    first = sync_account(world.sessions, world.account_id, world.settings)
    assert first.fetched >= 40
    assert live_messages(world) == 40
    with world.sessions() as s:
        events = s.scalar(select(func.count()).select_from(CalendarEvent)) or 0
        assert events == 12
        cursors = {c.stream: c.phase for c in s.scalars(select(SyncCursor))}
        assert set(cursors.values()) == {"delta"}
        account = s.get(Account, world.account_id)
        assert account is not None and account.last_verified_complete_at is not None
        assert all(r.status == "ok" for r in s.scalars(select(SyncRun)))
    again = sync_account(world.sessions, world.account_id, world.settings)
    assert not again.news
    assert live_messages(world) == 40


def test_stored_fields(world: World) -> None:
    sync_account(world.sessions, world.account_id, world.settings)
    with world.sessions() as s:
        rows = list(s.scalars(select(Message)))
    outgoing = [m for m in rows if m.direction == "out"]
    incoming = [m for m in rows if m.direction == "in"]
    assert outgoing and incoming
    assert all(m.from_addr == world.address for m in outgoing)
    assert all(m.to_addrs and set(m.to_addrs[0]) == {"email", "name"} for m in rows)
    recent = [m for m in rows if m.sent_at and m.sent_at > datetime.now(UTC) - timedelta(days=80)]
    assert recent and all(m.has_text and "quoted old text" not in m.new_text for m in recent)
    assert all("I will send the report" in m.new_text for m in recent)
    old = [m for m in rows if m.sent_at and m.sent_at < datetime.now(UTC) - timedelta(days=100)]
    assert old and not any(m.has_text for m in old)
    assert any(m.is_bulk and m.list_id for m in rows)
    assert all(m.rfc822_id.startswith("<") for m in rows)


def test_delta_applies_changes_and_matches_a_fresh_sync(world: World, tmp_path: Path) -> None:
    sync_account(world.sessions, world.account_id, world.settings)
    changes = mutate(world)
    result = sync_account(world.sessions, world.account_id, world.settings)
    assert result.news
    assert all(s.kind == "delta" for s in result.streams.values())
    with world.sessions() as s:
        gone = s.scalar(select(func.count()).select_from(Message).where(Message.deleted))
    mine = snapshot(world.sessions, world.account_id)
    assert len(mine["messages"]) == 40 + 2 - 2 - 1
    assert gone == len(changes["deleted"]) + len(changes["trashed"])
    assert mine == fresh_snapshot(world, tmp_path)
    moved = [e for e in mine["events"].values() if e[0] == "Moved meeting"]
    assert len(moved) == 1 and len(mine["events"]) == 11


def test_expired_cursor_resyncs_and_converges(world: World, tmp_path: Path) -> None:
    sync_account(world.sessions, world.account_id, world.settings)
    mutate(world)
    world.mailbox.forget_history()
    world.mailbox.expire_sync_tokens()
    result = sync_account(world.sessions, world.account_id, world.settings)
    assert {s.kind for s in result.streams.values()} == {"resync"}
    with world.sessions() as s:
        generations = set(s.scalars(select(SyncCursor.generation)))
        assert generations == {1}
    assert snapshot(world.sessions, world.account_id) == fresh_snapshot(world, tmp_path)


def test_mail_older_than_the_window_is_recorded_not_dropped(world: World) -> None:
    """Found on real mail: 12 messages dated 1979 fell outside the sync window and left no
    trace. They are not synced (the window holds), but each gets a skip record saying why;
    one stored later (a label change brings it) loses its record."""
    from rapportd.agent.store.models import SkippedItem

    box = world.mailbox
    old = [
        box.add_message(raw_message(PEOPLE[0], world.address, "Dated 1979", "x\n", when)).id
        for when in (
            datetime(1979, 12, 31, 16, tzinfo=UTC),
            datetime.now(UTC) - timedelta(days=800),
        )
    ]
    sync_account(world.sessions, world.account_id, world.settings)
    assert live_messages(world) == 40
    with world.sessions() as s:
        skipped = dict(s.execute(select(SkippedItem.provider_id, SkippedItem.reason)).all())
        stored = set(s.scalars(select(Message.provider_id)))
    windowed = [p for p, reason in skipped.items() if "older than the sync window" in reason]
    assert len(windowed) == 2 and len(old) == 2, skipped
    assert all("(backfill_days=365)" in skipped[p] for p in windowed)
    assert not stored & set(windowed)
    if world.provider == "google":  # a label change brings an old message in: record goes
        box.modify_labels(old[0], ["STARRED"])
        sync_account(world.sessions, world.account_id, world.settings)
        with world.sessions() as s:
            assert old[0] in set(s.scalars(select(Message.provider_id)))
            assert s.scalar(select(SkippedItem.id).where(SkippedItem.provider_id == old[0])) is None
