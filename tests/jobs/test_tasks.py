"""The tasks behind the actors, with stand-in parts: what they record and what they wake."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.core.errors import PermanentError, ReconsentNeeded, RetryLater
from rapportd.agent.store.models import Account, Message, Owner
from rapportd.jobs import tasks

from .helpers import NOW, Scripted, add_account, add_owner, make_parts, syncing


def account_row(sessions: sessionmaker[Session], account_id: int) -> Account:
    with sessions() as s:
        row = s.get(Account, account_id)
        assert row is not None
        return row


def test_successful_sync_schedules_next_and_wakes_analysis(
    sessions, make_runtime, recorder
) -> None:
    owner = add_owner(sessions)
    acc = add_account(sessions, owner, consecutive_errors=3, last_error="retry_later: x")
    holders: list[str | None] = []

    def batch(_i: int) -> None:  # the lease is held by us while the sync runs
        holders.append(account_row(sessions, acc).sync_lease_owner)

    rt = make_runtime(make_parts(sync_account=syncing(Scripted(batch))), clock=lambda: NOW)
    with clock.held(NOW, ticking=False):
        assert tasks.run_sync(rt, acc) == "ok"
    row = account_row(sessions, acc)
    assert holders == [rt.holder]
    assert row.consecutive_errors == 0 and row.last_error == ""
    assert row.sync_lease_owner is None and row.last_sync_at == NOW
    interval = rt.settings.sync.interval_seconds
    assert row.next_sync_at is not None
    assert NOW + timedelta(seconds=0.89 * interval) <= row.next_sync_at
    assert row.next_sync_at <= NOW + timedelta(seconds=1.11 * interval)
    with sessions() as s:  # the store writer marked the news, with the batch
        assert s.get(Owner, owner).analysis_due_at == NOW  # type: ignore[union-attr]
    assert (tasks.ANALYSE, owner) in recorder.sent


def test_sync_without_news_does_not_wake_analysis(sessions, make_runtime, recorder) -> None:
    acc = add_account(sessions, add_owner(sessions))
    rt = make_runtime(make_parts(sync_account=syncing(Scripted())), clock=lambda: NOW)
    with clock.held(NOW, ticking=False):
        assert tasks.run_sync(rt, acc) == "ok"
        recorder.sent.clear()
        with sessions.begin() as s:
            s.execute(update(Owner).values(analysis_due_at=None))
        assert tasks.run_sync(rt, acc) == "ok"  # the same message again: nothing new
    assert recorder.sent == []


@pytest.mark.parametrize(
    ("exc", "status", "kind", "raises"),
    [
        (RetryLater("429", retry_after=900), "ok", "retry_later", True),
        (ReconsentNeeded("invalid_grant"), "needs_reconsent", "reconsent", False),
        (PermanentError("400 bad"), "error", "permanent", False),
    ],
)
def test_sync_errors_are_recorded_on_the_account_once(
    sessions, make_runtime, exc: Exception, status: str, kind: str, raises: bool
) -> None:
    acc = add_account(sessions, add_owner(sessions), consecutive_errors=1)

    def fail(_i: int) -> None:
        raise exc

    rt = make_runtime(make_parts(sync_account=syncing(Scripted(fail))), clock=lambda: NOW)
    with clock.held(NOW, ticking=False):
        if raises:
            with pytest.raises(type(exc)):
                tasks.run_sync(rt, acc)
        else:
            assert tasks.run_sync(rt, acc) == kind
    row = account_row(sessions, acc)
    assert row.status == status
    assert row.consecutive_errors == 2  # counted once
    assert row.last_error.startswith(kind)
    assert row.sync_lease_owner is None
    if kind == "reconsent":
        assert row.next_sync_at is None and "connect" in row.status_reason
    else:
        assert row.next_sync_at is not None and row.next_sync_at >= NOW + timedelta(seconds=100)
    if isinstance(exc, RetryLater):
        assert row.next_sync_at >= NOW + timedelta(seconds=900)


def test_a_grant_refused_outside_a_sync_waits_for_the_owner(sessions, make_runtime) -> None:
    """A token refresh the provider refuses: the account needs connecting again, says so in
    words the owner can act on, and is not scheduled for syncs that cannot run."""
    acc = add_account(sessions, add_owner(sessions), next_sync_at=NOW)

    class Refused:
        def refresh_token(self) -> None:
            raise ReconsentNeeded("invalid_grant: Token has been expired or revoked.")

    rt = make_runtime(make_parts(connector_for=lambda *_a, **_k: Refused()))
    assert tasks.run_refresh(rt, acc) == "reconsent"
    row = account_row(sessions, acc)
    assert row.status == "needs_reconsent" and row.next_sync_at is None
    assert "connect the account again" in row.status_reason and "revoked" in row.status_reason


def test_accounts_needing_reconsent_are_not_synced(sessions, make_runtime) -> None:
    acc = add_account(sessions, add_owner(sessions), status="needs_reconsent")

    def never(_i: int) -> None:
        raise AssertionError("a needs_reconsent account was synced")

    rt = make_runtime(make_parts(sync_account=syncing(Scripted(never))))
    assert tasks.run_sync(rt, acc) == "skipped"


def test_never_two_syncs_of_one_account_at_once(sessions, make_runtime) -> None:
    acc = add_account(sessions, add_owner(sessions))
    running = 0
    peak = 0
    guard = threading.Lock()

    def slow(_i: int) -> None:
        nonlocal running, peak
        with guard:
            running += 1
            peak = max(peak, running)
        time.sleep(0.3)
        with guard:
            running -= 1

    # four workers: two threads of this process (one holder name) and two other processes
    holders = ["host:1", "host:1", "host:2", "host:3"]
    runtimes = [
        make_runtime(make_parts(sync_account=syncing(Scripted(slow))), holder=h) for h in holders
    ]
    outcomes: list[str] = []
    threads = [
        threading.Thread(target=lambda rt=rt: outcomes.append(tasks.run_sync(rt, acc)))
        for rt in runtimes
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 1
    assert outcomes.count("ok") >= 1
    assert set(outcomes) <= {"ok", "busy"}
    assert account_row(sessions, acc).sync_lease_owner is None


def test_shutdown_interrupts_at_a_batch_boundary_and_releases_the_lease(
    sessions, make_runtime
) -> None:
    acc = add_account(sessions, add_owner(sessions))
    batches: list[int] = []

    def batch(i: int) -> None:
        batches.append(i)
        if i == 2:
            rt.stopping.set()  # SIGTERM arrives during batch 2

    rt = make_runtime(
        make_parts(sync_account=syncing(Scripted(batch, batches=100))), clock=lambda: NOW
    )
    with clock.held(NOW, ticking=False):
        assert tasks.run_sync(rt, acc) == "interrupted"
    assert batches == [0, 1, 2]  # batch 2 is stored, then the sync stops
    row = account_row(sessions, acc)
    assert row.sync_lease_owner is None
    assert row.next_sync_at == NOW  # due again at once after a restart
    assert row.consecutive_errors == 0 and row.last_sync_at is None  # not a finished sync
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 3


def test_a_lost_lease_stops_the_sync(sessions, make_runtime) -> None:
    acc = add_account(sessions, add_owner(sessions))

    def batch(i: int) -> None:
        if i == 0:  # someone else takes the account over (our lease expired while stuck)
            with sessions() as s, s.begin():
                s.get(Account, acc).sync_lease_owner = "thief"  # type: ignore[union-attr]
        time.sleep(0.05)

    rt = make_runtime(
        make_parts(sync_account=syncing(Scripted(batch, batches=50))), lease_seconds=0.6
    )
    assert tasks.run_sync(rt, acc) == "lease_lost"
    assert account_row(sessions, acc).sync_lease_owner == "thief"  # not ours to release


def test_analysis_clears_due_only_if_no_sync_marked_it_again(
    sessions, make_runtime, recorder
) -> None:
    owner = add_owner(sessions, analysis_due_at=NOW)
    later = NOW + timedelta(minutes=1)

    def analyse(session: Session, owner_id: int, *, now: Any, settings: Any) -> None:
        # news for this owner arrives while the analysis runs (written through the same
        # session: on SQLite a second writer would wait for the analysis to commit)
        session.execute(update(Owner).where(Owner.id == owner_id).values(analysis_due_at=later))

    rt = make_runtime(make_parts(analyse_owner=analyse), clock=lambda: NOW)
    assert tasks.run_analysis(rt, owner) == "ok"
    with sessions() as s:
        row = s.get(Owner, owner)
        assert row is not None and row.analysis_due_at == later and row.analysed_at == NOW
    assert recorder.sent == [(tasks.PLAN, owner)]

    rt2 = make_runtime(make_parts(analyse_owner=lambda *a, **k: None), clock=lambda: later)
    assert tasks.run_analysis(rt2, owner) == "ok"
    with sessions() as s:
        assert s.get(Owner, owner).analysis_due_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize("due", [timedelta(minutes=10), None])
def test_a_busy_analysis_leaves_the_owner_due_now(
    sessions, make_runtime, recorder, due: timedelta | None
) -> None:
    # the scheduler pushed the due time a grace ahead when it sent the message, or a sync
    # sent it without marking the owner due (its news came after an analysis began); the
    # owner is busy (a plan holds the lock): the scheduler's next look must send it again
    owner = add_owner(sessions, analysis_due_at=NOW + due if due is not None else None)
    rt = make_runtime(make_parts(), clock=lambda: NOW)
    with tasks.owner_lock(rt, owner) as got:
        assert got
        assert tasks.run_analysis(rt, owner) == "busy"
    with sessions() as s:
        row = s.get(Owner, owner)
        assert row is not None and row.analysis_due_at == NOW and row.analysed_at is None
    assert recorder.sent == []


def test_while_the_older_history_backfills_news_reanalyses_at_most_every_15_minutes(
    sessions, make_runtime, recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysed: list[Any] = []
    owner = add_owner(sessions, analysis_due_at=NOW)
    parts = make_parts(analyse_owner=lambda _s, _o, *, now, settings: analysed.append(now))
    scope = {"now": "recent"}
    monkeypatch.setattr(tasks, "_scope", lambda *_a: scope["now"])
    rt = make_runtime(parts, clock=lambda: NOW)
    assert tasks.run_analysis(rt, owner) == "ok" and analysed == [NOW]
    # a batch of the backfill brings news a minute later: no second full run yet
    soon = NOW + timedelta(minutes=1)
    with sessions.begin() as s:
        s.execute(update(Owner).where(Owner.id == owner).values(analysis_due_at=soon))
    rt_soon = make_runtime(parts, clock=lambda: soon)
    assert tasks.run_analysis(rt_soon, owner) == "later" and analysed == [NOW]
    with sessions() as s:
        row = s.get(Owner, owner)
        assert row is not None and row.analysis_due_at == NOW + tasks.BACKFILL_REANALYSE
    # the backfill ends: the full analysis runs at once
    scope["now"] = "full"
    assert tasks.run_analysis(rt_soon, owner) == "ok" and analysed == [NOW, soon]


def test_plan_wakes_writers_for_ready_operations(sessions, make_runtime, recorder) -> None:
    owner = add_owner(sessions)
    planned: list[int] = []
    rt = make_runtime(
        make_parts(
            plan_owner=lambda s, oid, *, now, settings: planned.append(oid),
            ready_operations=lambda s, *, now, limit=100, owner_id=None: [11, 12],
        ),
        clock=lambda: NOW,
    )
    assert tasks.run_plan(rt, owner) == "ok"
    assert planned == [owner]
    assert recorder.sent == [(tasks.WRITE, 11), (tasks.WRITE, 12)]
    with sessions() as s:  # the store says the owner is planned (the scheduler reads it)
        row = s.get(Owner, owner)
        assert row is not None and row.planned_at == NOW


def test_a_successful_sync_brings_an_account_in_error_back(sessions, make_runtime) -> None:
    failing = add_account(sessions, add_owner(sessions), status="error", status_reason="400 bad")
    rt = make_runtime(make_parts(sync_account=syncing(Scripted())), clock=lambda: NOW)
    with clock.held(NOW, ticking=False):
        assert tasks.run_sync(rt, failing) == "ok"
    row = account_row(sessions, failing)
    assert (row.status, row.status_reason, row.last_sync_at) == ("ok", "", NOW)
    other = add_account(sessions, add_owner(sessions, "b@example.com"), "b@example.com")
    with sessions() as s, s.begin():
        s.get(Account, other).status_reason = "kept"  # type: ignore[union-attr]
    with clock.held(NOW, ticking=False):
        assert tasks.run_sync(rt, other) == "ok"
    assert (account_row(sessions, other).status, account_row(sessions, other).status_reason) == (
        "ok",
        "kept",
    )
