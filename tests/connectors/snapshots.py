"""What a store holds, as plain comparable data (live rows only), and a fresh store to compare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.agent.store.models import CalendarEvent, Message
from rapportd.connectors.sync.account import sync_account

from .conftest import World, connect


def snapshot(sessions: Any, account_id: int) -> dict[str, Any]:
    with sessions() as s:
        messages = {
            m.provider_id: (
                m.subject,
                m.from_addr,
                m.folder,
                m.direction,
                tuple(m.labels),
                m.thread_id,
                m.new_text,
                m.rfc822_id,
            )
            for m in s.scalars(
                select(Message).where(Message.account_id == account_id, Message.deleted.is_(False))
            )
        }
        events = {
            e.provider_id: (e.summary, e.start_at, e.end_at, e.status, len(e.attendees))
            for e in s.scalars(
                select(CalendarEvent).where(
                    CalendarEvent.account_id == account_id, CalendarEvent.deleted.is_(False)
                )
            )
        }
    return {"messages": messages, "events": events}


def fresh_snapshot(world: World, tmp_path: Path) -> dict[str, Any]:
    """Sync the sandbox as it is now into a new, empty store."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    upgrade(engine)
    try:
        sessions = session_factory(engine)
        account_id = connect(world.settings, sessions, world.provider, world.address)
        sync_account(sessions, account_id, world.settings)
        return snapshot(sessions, account_id)
    finally:
        engine.dispose()
