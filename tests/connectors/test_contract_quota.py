"""rapportd's own limiter keeps a fault-free Gmail backfill under the quota it knows: the
provider never has to answer 429 (issue 16). The quota "minute" is shortened on both
sides (the sandbox's window and the client's) so the default test crosses many windows in
seconds; the slow one is a 10k-message mailbox at the real 60-second window."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from rapportd.agent.core.errors import RetryLater
from rapportd.agent.core.records import Address, DraftSpec
from rapportd.agent.store.models import Account, Message
from rapportd.connectors.google import client
from rapportd.connectors.sandbox.state import Sandbox
from rapportd.connectors.sync.account import sync_account
from rapportd.jobs import tasks
from rapportd.jobs.runtime import Parts, Runtime

from .conftest import World, make_world


def backfill_429s(world: World) -> tuple[int, int, int]:
    """(provider 429s, Gmail calls, stored messages) of one full backfill."""
    sync_account(world.sessions, world.account_id, world.settings, streams=["gmail"])
    gmail = [e for e in world.sandbox.log if e.endpoint.startswith("gmail.")]
    with world.sessions() as s:
        stored = int(s.scalar(select(func.count()).select_from(Message)) or 0)
    return sum(1 for e in gmail if e.status in (429, 403)), len(gmail), stored


@pytest.fixture
def tight(sqlite_engine: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A 2-second "minute" of 400 units on both sides: ~1,300 units of backfill cross it
    three times over."""
    sb = Sandbox()
    sb.quota.update({"gmail_units_per_minute": 400, "gmail_window_seconds": 2.0})
    monkeypatch.setattr(client, "GMAIL_WINDOW", 2.0)
    for world in make_world(
        "google", sqlite_engine, messages=220, events=0, sandbox=sb, gmail_batch_size=10
    ):
        world.settings.google.quota_units_per_minute = 400
        yield world


def test_a_fault_free_backfill_never_meets_a_429(tight: World) -> None:
    throttled, calls, stored = backfill_429s(tight)
    assert stored == 220
    assert calls > 20
    assert throttled == 0


def test_writes_during_a_backfill_share_its_quota(tight: World, sqlite_engine: Any) -> None:
    """The outbox's connectors (jobs.tasks.Connectors) spend from the same limiter as the
    sync of the account: drafts written while a backfill runs never push Gmail over."""
    rt = Runtime(
        settings=tight.settings,
        engine=sqlite_engine,
        session_factory=tight.sessions,
        parts=Parts.real(),
        enqueue=lambda *_a, **_k: None,
    )
    with tight.sessions() as s:
        account = s.get(Account, tight.account_id)
        assert account is not None
    writer = tasks.Connectors(rt)(account)
    result: list[Any] = []
    sync = threading.Thread(target=lambda: result.append(backfill_429s(tight)))
    sync.start()
    failures = []
    for i in range(12):
        spec = DraftSpec(f"sugg:q{i}", [Address.of("ann@client.example")], f"Hello {i}", "Hi")
        try:
            writer.create_draft(spec)
        except RetryLater as exc:
            failures.append(exc)
    sync.join()
    writer.close()
    throttled = sum(1 for e in tight.sandbox.log if e.status in (429, 403))
    assert result and result[0][2] == 220
    assert failures == [] and throttled == 0


@pytest.mark.slow
def test_a_fault_free_10k_backfill_never_meets_a_429(sqlite_engine: Any) -> None:
    """10,000 messages at Gmail's real per-user quota (15,000 units a minute, 60 s)."""
    sb = Sandbox()
    sb.quota.update({"gmail_units_per_minute": 15000})
    for world in make_world("google", sqlite_engine, messages=10_000, events=0, sandbox=sb):
        world.settings.google.quota_units_per_minute = 15000
        throttled, calls, stored = backfill_429s(world)
        assert stored == 10_000
        assert throttled == 0, f"{throttled} provider 429s in {calls} Gmail calls"
