"""Opening and renewing push channels: which accounts get one, what the tasks store, and what
happens when a provider lost a channel (stand-in connectors; the wire is tested against the
sandbox in test_push_channels_sandbox.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.records import PushChannel
from rapportd.agent.core.settings import load_settings
from rapportd.agent.store.models import PushSubscription
from rapportd.jobs import tasks
from rapportd.jobs.push_auth import client_state_hash
from rapportd.jobs.scheduler import Memory, tick

from .helpers import NOW, Recorder, add_account, add_owner, make_parts

PUSH_ON = load_settings(
    google={"push_topic": "projects/p/topics/gmail"},
    microsoft={"push_notifications": True},
    base_url="https://rapportd.example",
)


class FakeConnector:
    def __init__(self, lost: bool = False) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.lost = lost

    def start_push(self) -> list[PushChannel]:
        self.calls.append(("start", None))
        expires = datetime(2030, 1, 1, tzinfo=UTC)
        return [
            PushChannel("sub-in", expires, resource="inbox", client_state="state-in"),
            PushChannel("sub-out", expires, resource="sent", client_state="state-out"),
        ]

    def renew_push(self, subscription_id: str) -> datetime | None:
        self.calls.append(("renew", subscription_id))
        return None if self.lost else datetime(2031, 1, 1, tzinfo=UTC)


def subs(sessions: sessionmaker[Session]) -> list[PushSubscription]:
    with sessions() as s:
        return list(s.scalars(select(PushSubscription).order_by(PushSubscription.id)))


def test_the_scheduler_opens_channels_only_where_push_is_on(
    sessions: sessionmaker[Session], recorder: Recorder
) -> None:
    owner = add_owner(sessions)
    synced = dict(last_sync_at=NOW, next_sync_at=NOW + timedelta(hours=1))
    google = add_account(sessions, owner, "a@gmail.example", **synced)
    graph = add_account(sessions, owner, "a@outlook.example", provider="microsoft", **synced)
    add_account(sessions, owner, "new@gmail.example", next_sync_at=NOW + timedelta(hours=1))
    add_account(sessions, owner, "gone@gmail.example", status="needs_reconsent", **synced)
    no_ops = lambda s, now: []  # noqa: E731

    off = load_settings()
    tick(sessions, off, now=NOW, enqueue=recorder, ready_operations=no_ops, memory=Memory())
    assert [i for a, i in recorder.sent if a == tasks.ENSURE_PUSH] == []

    memory = Memory()
    tick(sessions, PUSH_ON, now=NOW, enqueue=recorder, ready_operations=no_ops, memory=memory)
    assert sorted(i for a, i in recorder.sent if a == tasks.ENSURE_PUSH) == sorted([google, graph])
    recorder.sent.clear()  # not again within the hour
    tick(sessions, PUSH_ON, now=NOW, enqueue=recorder, ready_operations=no_ops, memory=memory)
    assert [i for a, i in recorder.sent if a == tasks.ENSURE_PUSH] == []


def test_ensure_stores_each_channel_with_only_the_hash_of_its_client_state(
    sessions: sessionmaker[Session], make_runtime: Any
) -> None:
    owner = add_owner(sessions)
    account = add_account(sessions, owner, "a@outlook.example", provider="microsoft")
    fake = FakeConnector()
    rt = make_runtime(
        make_parts(connector_for=lambda acc, settings, session=None: fake), settings=PUSH_ON
    )
    assert tasks.run_ensure_push(rt, account) == "ok"
    rows = subs(sessions)
    assert [(r.subscription_id, r.resource) for r in rows] == [
        ("sub-in", "inbox"),
        ("sub-out", "sent"),
    ]
    assert rows[0].client_state_hash == client_state_hash("state-in")
    assert all("state-" not in (r.client_state_hash + r.resource) for r in rows)
    assert tasks.run_ensure_push(rt, account) == "exists"
    assert fake.calls == [("start", None)]

    off = make_runtime(make_parts(connector_for=lambda acc, settings, session=None: fake))
    other = add_account(sessions, owner, "b@outlook.example", provider="microsoft")
    assert tasks.run_ensure_push(off, other) == "off"
    assert fake.calls == [("start", None)]


def test_renew_extends_and_a_lost_channel_is_forgotten_then_reopened(
    sessions: sessionmaker[Session], make_runtime: Any, recorder: Recorder
) -> None:
    owner = add_owner(sessions)
    account = add_account(sessions, owner, "a@outlook.example", provider="microsoft")
    fake = FakeConnector()
    rt = make_runtime(
        make_parts(connector_for=lambda acc, settings, session=None: fake), settings=PUSH_ON
    )
    tasks.run_ensure_push(rt, account)
    first = subs(sessions)[0]
    assert tasks.run_renew_push(rt, first.id) == "ok"
    assert subs(sessions)[0].expires_at == datetime(2031, 1, 1, tzinfo=UTC)
    assert ("renew", "sub-in") in fake.calls

    fake.lost = True
    for row in subs(sessions):
        assert tasks.run_renew_push(rt, row.id) == "lost"
    assert subs(sessions) == []
    # the account has none left: the next tick opens new ones
    with sessions() as s, s.begin():
        from rapportd.agent.store.models import Account

        acc = s.get(Account, account)
        assert acc is not None
        acc.last_sync_at = NOW
    tick(
        sessions,
        PUSH_ON,
        now=NOW,
        enqueue=recorder,
        ready_operations=lambda s, now: [],
        memory=Memory(),
    )
    assert (tasks.ENSURE_PUSH, account) in recorder.sent
