"""Recovery (issue 16): work held by a dead process is taken back at once — a process
identity (host:pid) and a heartbeat, not only the lease's timer — and a scheduler that
becomes active makes due what its predecessor had in flight."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.settings import get_settings
from rapportd.agent.outbox.operations import ready_operations
from rapportd.agent.store.models import Account, OutboxOperation, Owner, Suggestion
from rapportd.jobs import recovery, tasks
from rapportd.jobs.locks import FileLock
from rapportd.jobs.scheduler import Scheduler

from .helpers import NOW, Recorder, add_account, add_owner


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def writing_op(sessions: sessionmaker[Session], owner: int, account: int, lease_owner: str) -> int:
    with sessions() as s, s.begin():
        sug = Suggestion(owner_id=owner, account_id=account, dedupe_key=lease_owner, kind="nudge")
        s.add(sug)
        s.flush()
        op = OutboxOperation(
            owner_id=owner,
            suggestion_id=sug.id,
            account_id=account,
            op="create_draft",
            tag=f"t-{lease_owner}",
            state="writing",
            payload={},
            ready_at=NOW,
            created_at=NOW,
            lease_owner=lease_owner,
            lease_until=NOW + timedelta(minutes=5),
        )
        s.add(op)
        s.flush()
        return op.id


def a_scheduler(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    recorder: Recorder,
    ready: Any,
    clock: Callable[[], datetime] = lambda: NOW,
) -> Scheduler:
    return Scheduler(
        sessions,
        get_settings(),
        FileLock(tmp_path / "sched.lock", "scheduler"),
        enqueue=recorder,
        ready_operations=ready,
        grace=timedelta(minutes=10),
        clock=clock,
    )


def test_leases_of_dead_processes_are_taken_back_at_once(
    sessions: sessionmaker[Session],
) -> None:
    owner = add_owner(sessions)
    dead = f"{recovery.HOST}:{dead_pid()}"
    alive = recovery.process_name()
    silent = "elsewhere.example:4242"  # another host whose heartbeat stopped
    beating = "busy.example:77"  # another host, beating
    recovery.beat(sessions, silent, NOW - timedelta(minutes=2))
    recovery.beat(sessions, beating, NOW - timedelta(seconds=3))
    accounts = {
        name: add_account(
            sessions,
            owner,
            f"{i}@example.com",
            sync_lease_owner=holder,
            sync_lease_until=NOW + timedelta(seconds=60),
            next_sync_at=NOW + timedelta(minutes=10),
        )
        for i, (name, holder) in enumerate(
            [("dead", dead), ("alive", alive), ("silent", silent), ("beating", beating)]
        )
    }
    ops = {
        name: writing_op(sessions, owner, accounts[name], f"{holder}#claim")
        for name, holder in [("dead", dead), ("alive", alive), ("silent", silent)]
    }
    ops["legacy"] = writing_op(sessions, owner, accounts["alive"], "0123456789abcdef")
    with sessions() as s:
        assert ready_operations(s, now=NOW) == []  # on the timer alone: 5 minutes away

    got = recovery.free_dead_leases(sessions, now=NOW)

    assert sorted(got.syncs) == sorted([accounts["dead"], accounts["silent"]])
    assert sorted(got.operations) == sorted([ops["dead"], ops["silent"]])
    with sessions() as s:
        assert sorted(ready_operations(s, now=NOW)) == sorted([ops["dead"], ops["silent"]])
        freed = s.get(Account, accounts["dead"])
        assert freed is not None and freed.sync_lease_owner is None
        assert freed.next_sync_at == NOW
        kept = s.get(Account, accounts["beating"])
        assert kept is not None and kept.sync_lease_owner == beating


def test_an_active_scheduler_first_makes_due_what_was_in_flight(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    owner = add_owner(sessions, analysis_due_at=NOW + timedelta(minutes=10))
    never = add_account(
        sessions, owner, "never@example.com", next_sync_at=NOW + timedelta(minutes=10)
    )
    recorder = Recorder()
    scheduler = a_scheduler(
        sessions, tmp_path, recorder, lambda session, *, now, limit=100, owner_id=None: []
    )
    scheduler.step()
    assert (tasks.SYNC, never) in recorder.sent  # never synced: due now, not in 10 min
    assert (tasks.ANALYSE, owner) in recorder.sent
    with sessions() as s:
        row = s.get(Owner, owner)
        assert row is not None and row.analysis_due_at == NOW + timedelta(minutes=10)


def test_an_op_a_dead_worker_took_is_sent_again_at_the_next_tick(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # the scheduler sent a ready op; a worker took it and died mid-write before any tick
    # saw it in "writing": the tick that frees it must send it again then, not wait out
    # the minute it waits before re-sending an op that simply stays ready
    owner = add_owner(sessions)
    account = add_account(sessions, owner, "a@example.com", next_sync_at=NOW + timedelta(hours=1))
    op = writing_op(sessions, owner, account, "placeholder")
    with sessions() as s, s.begin():
        row = s.get(OutboxOperation, op)
        assert row is not None
        row.state, row.lease_owner, row.lease_until = "pending", None, None
    clock = [NOW]
    recorder = Recorder()
    scheduler = a_scheduler(sessions, tmp_path, recorder, ready_operations, lambda: clock[0])
    scheduler.step()
    assert recorder.sent.count((tasks.WRITE, op)) == 1
    with sessions() as s, s.begin():
        row = s.get(OutboxOperation, op)
        assert row is not None
        row.state, row.lease_owner = "writing", f"{recovery.HOST}:{dead_pid()}#claim"
        row.lease_until = NOW + timedelta(minutes=5)
    clock[0] = NOW + timedelta(seconds=3)
    scheduler.step()
    assert recorder.sent.count((tasks.WRITE, op)) == 2
