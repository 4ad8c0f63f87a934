"""Recent first (issue 18), against the sandbox for both providers: the first phase of a
backfill fetches the last ``sync.recent_days`` of every stream and nothing older (Gmail
``newer_than:``, Calendar ``timeMin``, Graph ``$filter=receivedDateTime ge`` on the first
delta round and calendarView ``startDateTime``); the backfill that follows stores the rest,
every item once, and ends in the same store as a backfill without a recent window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rapportd.agent.core import clock
from rapportd.agent.core.records import PROVIDER_STREAMS
from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.agent.store.models import CalendarEvent, Message, SyncCursor
from rapportd.connectors.sync.account import SyncResult, sync_account

from .conftest import World, connect, make_world
from .snapshots import snapshot

WINDOW = 14
MARGIN = timedelta(hours=1)  # the test's clock and the sync's differ by the run's seconds


@pytest.fixture
def rworld(provider: str, sqlite_engine: Any) -> Iterator[World]:
    yield from make_world(provider, sqlite_engine, messages=150, events=20)


def _stored(world: World) -> tuple[dict[str, datetime], dict[str, datetime]]:
    with world.sessions() as s:
        messages = {
            m.provider_id: m.sent_at
            for m in s.scalars(select(Message).where(Message.account_id == world.account_id))
        }
        events = {
            e.provider_id: e.start_at
            for e in s.scalars(
                select(CalendarEvent).where(CalendarEvent.account_id == world.account_id)
            )
        }
    return messages, events  # type: ignore[return-value]


def _gets(world: World) -> int:
    calls: dict[str, int] = world.mailbox.counters.as_json()["calls"]
    return calls.get("gmail.users.messages.get", 0)


def test_the_recent_window_first_then_the_rest_once(tmp_path: Path, rworld: World) -> None:
    world = rworld
    started = clock.now()
    cut = started - timedelta(days=WINDOW)
    seen: dict[str, Any] = {}

    def on_recent(result: SyncResult) -> None:
        seen["stored"] = _stored(world)
        seen["gets"] = _gets(world)
        with world.sessions() as s:
            seen["cursors"] = {
                c.stream: (c.recent_complete_at, c.last_verified_complete_at)
                for c in s.scalars(select(SyncCursor))
            }

    result = sync_account(world.sessions, world.account_id, world.settings, on_recent=on_recent)
    assert all(s.complete for s in result.streams.values())

    # when the windows were in: every stream had its window and no stream its whole history
    cursors = seen["cursors"]
    assert set(cursors) == set(PROVIDER_STREAMS[world.provider])
    assert all(recent is not None and full is None for recent, full in cursors.values())
    messages, events = seen["stored"]
    final_messages, final_events = _stored(world)
    in_window = {pid for pid, at in final_messages.items() if at >= cut + MARGIN}
    assert in_window and set(messages) >= in_window
    assert all(at >= cut - MARGIN for at in messages.values()), "only the window was fetched"
    assert len(final_messages) > len(messages) + 50  # the older history came afterwards
    assert set(events) >= {pid for pid, at in final_events.items() if at >= cut + MARGIN}
    assert all(at >= cut - MARGIN for at in events.values())
    assert len(final_events) > len(events)
    if world.provider == "google":
        assert seen["gets"] == len(messages)  # not one older message was fetched
        # the older parts leave the window out: each message fetched once in all
        assert _gets(world) == len(final_messages)

    # every message and event once, as a backfill without a recent window stores them
    live = len(world.mailbox.messages)
    assert len(final_messages) <= live
    legacy = world.settings.model_copy(
        update={"sync": world.settings.sync.model_copy(update={"recent_days": 0})}
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")
    upgrade(engine)
    try:
        sessions = session_factory(engine)
        account_id = connect(legacy, sessions, world.provider, world.address)
        sync_account(sessions, account_id, legacy)
        assert snapshot(world.sessions, world.account_id) == snapshot(sessions, account_id)
    finally:
        engine.dispose()
    again = sync_account(world.sessions, world.account_id, world.settings)
    assert not again.news  # a delta afterwards: nothing was left behind or doubled


def test_a_backfill_stopped_after_the_window_goes_on_where_it_was(
    tmp_path: Path, rworld: World
) -> None:
    """A sync stopped right after the windows (a shutdown) resumes with the older history
    only; the store ends as one uninterrupted backfill leaves it."""
    world = rworld

    class Stop(BaseException):
        pass

    def stop(_result: SyncResult) -> None:
        raise Stop

    with pytest.raises(Stop):
        sync_account(world.sessions, world.account_id, world.settings, on_recent=stop)
    with world.sessions() as s:
        cursors = list(s.scalars(select(SyncCursor)))
        assert cursors and all(c.recent_complete_at is not None for c in cursors)
        assert all(c.last_verified_complete_at is None for c in cursors)
    windowed, _ = _stored(world)
    gets = _gets(world)
    called: list[SyncResult] = []
    sync_account(world.sessions, world.account_id, world.settings, on_recent=called.append)
    assert called == []  # the windows were in already: straight to the rest
    final, _ = _stored(world)
    assert len(final) > len(windowed)
    if world.provider == "google":
        assert _gets(world) - gets == len(final) - len(windowed)  # nothing fetched twice
    legacy_engine = make_engine(f"sqlite:///{tmp_path / 'whole.sqlite3'}")
    upgrade(legacy_engine)
    try:
        sessions = session_factory(legacy_engine)
        account_id = connect(world.settings, sessions, world.provider, world.address)
        sync_account(sessions, account_id, world.settings)
        assert snapshot(world.sessions, world.account_id) == snapshot(sessions, account_id)
    finally:
        legacy_engine.dispose()
