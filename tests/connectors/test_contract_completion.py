"""Never plan on half a mailbox (issue 16): completion is per stream. In a storm where every
Gmail ``messages.get`` fails, the calendar stream finishes but the account is not synced,
the owner is not analysed, and the account says what it waits for and why; once Gmail
finishes, the owner is analysed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from rapportd.agent.store.models import Account, Message, SyncCursor
from rapportd.agent.store.sync_status import unfinished_streams, waiting_text
from rapportd.connectors.google import client
from rapportd.connectors.sandbox.faults import Fault
from rapportd.connectors.sync.account import sync_account
from rapportd.jobs import runtime, tasks
from rapportd.jobs.runtime import Parts, Runtime

from .conftest import World, make_world


@pytest.fixture
def gworld(sqlite_engine: Any) -> Iterator[World]:
    yield from make_world("google", sqlite_engine, messages=30, events=6)


def test_no_owner_is_analysed_while_one_stream_fails_every_batch(
    gworld: World, sqlite_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = gworld
    monkeypatch.setattr(client, "backoff", lambda *_a, **_k: 0.0)  # the storm, without waits
    analysed: list[int] = []
    sent: list[tuple[str, int]] = []
    rt = Runtime(
        settings=world.settings,
        engine=sqlite_engine,
        session_factory=world.sessions,
        parts=Parts.real(analyse_owner=lambda _s, owner_id, **_k: analysed.append(owner_id)),
        enqueue=lambda actor, item, **_k: sent.append((actor, item)),
    )
    with world.sessions() as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        owner_id = account.owner_id
    storm = world.sandbox.faults.add(Fault("503", endpoint="gmail.users.messages.get"))
    try:
        for _ in range(3):
            with pytest.raises(Exception, match=r"HTTP 503"):
                tasks.run_sync(rt, world.account_id)
            assert tasks.run_analysis(rt, owner_id) == "waiting_first_sync"
        with world.sessions() as session:
            cursors = {c.stream: c for c in session.scalars(select(SyncCursor))}
            account = session.get(Account, world.account_id)
            assert account is not None
            assert cursors["gcal"].last_verified_complete_at is not None  # the calendar finished
            assert cursors["gmail"].last_verified_complete_at is None
            assert cursors["gmail"].consecutive_errors == 3
            assert account.last_verified_complete_at is None  # half an account is not complete
            text = waiting_text(unfinished_streams(session, owner_id))
        assert text.startswith("waiting for Gmail to finish (retrying: ")
        assert "503" in text
        assert storm.fired > 0
        assert analysed == []
        assert (tasks.PLAN, owner_id) not in sent
    finally:
        world.sandbox.faults.clear()
        runtime.uninstall()
    assert tasks.run_sync(rt, world.account_id) == "ok"
    with world.sessions() as session:
        assert unfinished_streams(session, owner_id) == []
        account = session.get(Account, world.account_id)
        assert account is not None and account.last_verified_complete_at is not None
    assert tasks.run_analysis(rt, owner_id) == "ok"
    assert analysed == [owner_id]


def test_one_dropped_part_does_not_fail_the_rest_of_its_batch_forever(
    gworld: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dropped part drops the whole multipart answer: the parts are retried in smaller
    batches (down to single requests) instead of the same doomed batch eight times."""
    monkeypatch.setattr(client, "backoff", lambda *_a, **_k: 0.0)
    storm = gworld.sandbox.faults.add(Fault("drop", endpoint="gmail.users.messages.get", rate=0.15))
    result = sync_account(gworld.sessions, gworld.account_id, gworld.settings, streams=["gmail"])
    assert storm.fired > 3
    assert result.streams["gmail"].error == ""
    with gworld.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Message))
    assert stored == 30
