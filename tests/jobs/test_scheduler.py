"""The scheduler derives what is due from the store, enqueues it once, and stands by
when another scheduler holds the lock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.settings import get_settings
from rapportd.agent.store.models import Account, Owner
from rapportd.jobs import tasks
from rapportd.jobs.locks import FileLock
from rapportd.jobs.scheduler import (
    PLAN_LOST_AFTER,
    RECENT_TTL,
    RESEND_CAP,
    SYNC_GRACE,
    Memory,
    Scheduler,
    tick,
)

from .helpers import NOW, Recorder, add_account, add_owner


def test_due_accounts_are_enqueued_once_until_the_grace_passes(
    sessions: sessionmaker[Session], recorder: Recorder
) -> None:
    owner = add_owner(sessions)
    due = add_account(sessions, owner, "a@example.com")
    later = add_account(sessions, owner, "b@example.com", next_sync_at=NOW + timedelta(hours=1))
    add_account(sessions, owner, "c@example.com", status="needs_reconsent")
    leased = add_account(
        sessions,
        owner,
        "d@example.com",
        sync_lease_owner="w1",
        sync_lease_until=NOW + timedelta(seconds=30),
    )
    errored = add_account(sessions, owner, "e@example.com", status="error", next_sync_at=NOW)
    settings = get_settings()
    memory = Memory()
    tick(
        sessions,
        settings,
        now=NOW,
        enqueue=recorder,
        ready_operations=lambda s, now: [],
        memory=memory,
    )
    syncs = sorted(i for a, i in recorder.sent if a == tasks.SYNC)
    assert syncs == sorted([due, errored])
    # a second look soon after enqueues nothing new (the message is in flight)
    recorder.sent.clear()
    tick(
        sessions,
        settings,
        now=NOW + timedelta(seconds=5),
        enqueue=recorder,
        ready_operations=lambda s, now: [],
        memory=memory,
    )
    assert [i for a, i in recorder.sent if a == tasks.SYNC] == []
    # if the message was lost, the account is due again after the grace; the lease ran out
    recorder.sent.clear()
    tick(
        sessions,
        settings,
        now=NOW + SYNC_GRACE + timedelta(seconds=1),
        enqueue=recorder,
        ready_operations=lambda s, now: [],
        memory=memory,
    )
    assert sorted(i for a, i in recorder.sent if a == tasks.SYNC) == sorted([due, errored, leased])
    assert later not in [i for _, i in recorder.sent]


def test_analysis_outbox_and_daily_sweeps(
    sessions: sessionmaker[Session], recorder: Recorder
) -> None:
    news = add_owner(sessions, "n@example.com", analysis_due_at=NOW - timedelta(seconds=1))
    stale = add_owner(
        sessions,
        "s@example.com",
        analysed_at=NOW - timedelta(days=1),
        planned_at=NOW - timedelta(days=1),
    )
    fresh = add_owner(
        sessions,
        "f@example.com",
        analysed_at=NOW - timedelta(minutes=5),
        planned_at=NOW - timedelta(minutes=5),
    )
    never_synced = add_owner(sessions, "x@example.com")
    for o in (news, stale, fresh):
        add_account(
            sessions, o, f"{o}@example.com", last_sync_at=NOW, next_sync_at=NOW + timedelta(hours=1)
        )
    add_account(sessions, never_synced, "never@example.com", next_sync_at=NOW + timedelta(hours=1))
    memory = Memory()
    ready = lambda s, now: [7, 8]  # noqa: E731
    out = tick(
        sessions, get_settings(), now=NOW, enqueue=recorder, ready_operations=ready, memory=memory
    )
    analysed = sorted(i for a, i in recorder.sent if a == tasks.ANALYSE)
    assert analysed == sorted([news, stale])
    assert [i for a, i in recorder.sent if a == tasks.WRITE] == [7, 8]
    assert len([1 for a, _ in recorder.sent if a == tasks.REFRESH]) == 4
    assert len(out) == len(recorder.sent)
    with sessions() as s:
        assert s.get(Owner, news).analysis_due_at > NOW  # type: ignore[operator,union-attr]
    # next tick: ready ops already enqueued a moment ago are not sent again, no sweep again
    recorder.sent.clear()
    tick(
        sessions,
        get_settings(),
        now=NOW + timedelta(seconds=2),
        enqueue=recorder,
        ready_operations=ready,
        memory=memory,
    )
    assert recorder.sent == []


def test_only_the_lock_holder_schedules(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    add_account(sessions, add_owner(sessions))
    path = tmp_path / "scheduler.lock"
    first, second = Recorder(), Recorder()
    a = Scheduler(
        sessions,
        get_settings(),
        FileLock(path, "scheduler"),
        enqueue=first,
        ready_operations=lambda s, now: [],
        clock=lambda: NOW,
    )
    b = Scheduler(
        sessions,
        get_settings(),
        FileLock(path, "scheduler"),
        enqueue=second,
        ready_operations=lambda s, now: [],
        clock=lambda: NOW,
    )
    a.step()
    b.step()
    assert a.active and not b.active
    assert first.sent and not second.sent
    a.lock.release()  # the active one goes away: the stand-by takes over
    a.active = False
    with sessions() as s, s.begin():
        for acc in s.query(Account):
            acc.next_sync_at = None
    b.step()
    assert b.active and second.sent
    b.lock.release()


def test_a_backlog_costs_few_resends_per_op(
    sessions: sessionmaker[Session], recorder: Recorder
) -> None:
    """An op that stays ready (its message waits behind a backlog, or was lost) is sent
    again after 1 min, then 2, 4, … up to the cap — not once a minute — and an op that
    leaves the ready set and comes back is sent at once."""
    memory = Memory()
    ready: list[int] = [5]
    minutes = 8 * 60  # eight hours of ticks, one a minute
    for minute in range(minutes):
        tick(
            sessions,
            get_settings(),
            now=NOW + timedelta(minutes=minute),
            enqueue=recorder,
            ready_operations=lambda s, now: list(ready),
            memory=memory,
        )
    sends = [i for a, i in recorder.sent if a == tasks.WRITE]
    # 1 + resends at 1, 3, 7, 15, 31, 63 min, then one per hour (the cap) for the rest
    doubling = 1 + sum(1 for k in range(20) if RECENT_TTL * (2**k - 1) < RESEND_CAP)
    capped = minutes // int(RESEND_CAP / timedelta(minutes=1))
    assert len(sends) <= doubling + capped + 1
    assert len(sends) < minutes / 20  # once a minute would be 480
    recorder.sent.clear()
    ready.clear()
    tick(
        sessions,
        get_settings(),
        now=NOW + timedelta(minutes=minutes),
        enqueue=recorder,
        ready_operations=lambda s, now: list(ready),
        memory=memory,
    )
    ready.append(5)  # due again (a retry after its own back-off): sent at once
    tick(
        sessions,
        get_settings(),
        now=NOW + timedelta(minutes=minutes, seconds=30),
        enqueue=recorder,
        ready_operations=lambda s, now: list(ready),
        memory=memory,
    )
    assert [i for a, i in recorder.sent if a == tasks.WRITE] == [5]


def test_a_plan_lost_after_its_analysis_is_sent_again(
    sessions: sessionmaker[Session], recorder: Recorder
) -> None:
    """An analysis enqueues its plan; a worker killed with that message prefetched loses it.
    The store says so (analysed after the last plan): a minute on, the scheduler sends it
    again, then again only after a doubled wait while it stays unplanned."""
    lost = add_owner(
        sessions, "l@example.com", analysed_at=NOW, planned_at=NOW - timedelta(hours=1)
    )
    never = add_owner(sessions, "n@example.com", analysed_at=NOW)
    planned = add_owner(
        sessions, "p@example.com", analysed_at=NOW, planned_at=NOW + timedelta(seconds=1)
    )
    for o in (lost, never, planned):
        add_account(
            sessions, o, f"{o}@example.com", last_sync_at=NOW, next_sync_at=NOW + timedelta(hours=1)
        )
    memory = Memory()

    def plans_at(at: timedelta) -> list[int]:
        recorder.sent.clear()
        tick(
            sessions,
            get_settings(),
            now=NOW + at,
            enqueue=recorder,
            ready_operations=lambda s, now: [],
            memory=memory,
        )
        return sorted(i for a, i in recorder.sent if a == tasks.PLAN)

    assert plans_at(timedelta(seconds=30)) == []  # the plan may simply be running
    assert plans_at(PLAN_LOST_AFTER + timedelta(seconds=1)) == sorted([lost, never])
    assert plans_at(PLAN_LOST_AFTER + timedelta(seconds=30)) == []
    with sessions() as s, s.begin():
        s.get(Owner, never).planned_at = NOW + timedelta(minutes=2)  # type: ignore[union-attr]
    assert plans_at(3 * PLAN_LOST_AFTER + timedelta(seconds=2)) == [lost]
