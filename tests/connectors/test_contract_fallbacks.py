"""Servers that lack a piece (issue 16): the Gmail backfill takes its history id from the
newest message when users.getProfile is missing, fetches one message at a time when the
batch endpoint answers 404, and a calendar list without nextSyncToken stores no empty
cursor (the next sync is a full pass again, and loses nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from rapportd.agent.store.models import CalendarEvent, Message, SyncCursor
from rapportd.agent.store.sync_status import unfinished_streams
from rapportd.connectors.sandbox.state import Sandbox
from rapportd.connectors.sync.account import sync_account

from .conftest import World, add_events, make_world
from .world import PEOPLE, raw_message


def lacking(sqlite_engine: Any, *missing: str) -> Iterator[World]:
    sb = Sandbox()
    sb.missing_endpoints.update(missing)
    yield from make_world("google", sqlite_engine, messages=30, events=5, sandbox=sb)


@pytest.fixture
def bare(sqlite_engine: Any) -> Iterator[World]:
    yield from lacking(sqlite_engine, "gmail.users.getProfile", "batch")


def count(world: World, model: Any) -> int:
    with world.sessions() as s:
        return int(
            s.scalar(select(func.count()).select_from(model).where(model.deleted.is_(False))) or 0
        )


def test_gmail_backfill_without_get_profile_nor_batch(bare: World) -> None:
    result = sync_account(bare.sessions, bare.account_id, bare.settings, streams=["gmail"])
    assert result.streams["gmail"].error == ""
    assert count(bare, Message) == 30
    with bare.sessions() as s:
        cursor = s.scalar(select(SyncCursor).where(SyncCursor.stream == "gmail"))
        assert cursor is not None and cursor.phase == "delta" and cursor.cursor
        assert cursor.last_verified_complete_at is not None
    log = [e for e in bare.sandbox.log if e.endpoint in ("batch", "gmail.users.messages.get")]
    assert any(e.status == 404 for e in log if e.endpoint == "batch")
    assert sum(1 for e in log if e.endpoint == "gmail.users.messages.get") >= 30
    # the delta from that history id sees what arrives next
    raw = raw_message(PEOPLE[0], bare.address, "After", "New.\n", datetime.now(UTC))
    bare.mailbox.add_message(raw, labels=["INBOX"])
    sync_account(bare.sessions, bare.account_id, bare.settings, streams=["gmail"])
    assert count(bare, Message) == 31


def test_a_calendar_list_without_sync_token_stores_no_empty_cursor(sqlite_engine: Any) -> None:
    for world in lacking(sqlite_engine, "calendar.nextSyncToken"):
        sync_account(world.sessions, world.account_id, world.settings, streams=["gcal"])
        with world.sessions() as s:
            cursor = s.scalar(select(SyncCursor).where(SyncCursor.stream == "gcal"))
            assert cursor is not None
            assert cursor.cursor is None and cursor.phase == "backfill"  # no "" cursor
            assert cursor.last_verified_complete_at is not None  # the pass was complete
            assert not [w for w in unfinished_streams(s, cursor.owner_id) if w.stream == "gcal"]
        add_events(world.sandbox, world.address, 2, seed=9)
        sync_account(world.sessions, world.account_id, world.settings, streams=["gcal"])
        assert count(world, CalendarEvent) == 7
