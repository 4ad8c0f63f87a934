"""Back to work at once after a crash.

Every daemon process says it is alive: a row in ``process_heartbeats`` under its holder
name (``host:pid``, the name on the sync leases and, before ``#``, on the outbox leases it
takes), refreshed every :data:`BEAT_EVERY` seconds and deleted on a clean stop. A lease
belongs to a dead process when its holder is on this host and its pid is gone, or its
heartbeat is older than :data:`STALE_AFTER` (another host). Such work is taken back at
once instead of waiting out the lease's timer (a sync lease, the outbox's 5 minutes):

- :func:`free_dead_leases` (every scheduler tick): sync leases of dead holders are freed
  and the account made due now; outbox rows left in ``writing`` by a dead holder become
  ready now;
- :func:`recover_at_start` (when a scheduler becomes the active one): also what was due or
  in flight when the previous one stopped — the messages of the embedded broker died with
  its process, and the scheduler had pushed ``next_sync_at`` / ``analysis_due_at`` a grace
  ahead: accounts with a stream that has not finished its backfill and every owner whose
  analysis is still due are made due now.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.logs import get_logger
from rapportd.agent.store.models import Account, OutboxOperation, Owner, ProcessHeartbeat
from rapportd.agent.store.sync_status import SYNCABLE, unfinished_streams

log = get_logger(__name__)

BEAT_EVERY = 5.0
STALE_AFTER = timedelta(seconds=30)
HOST = socket.gethostname()


def holder_of(lease_owner: str) -> str:
    """The process part of a lease owner (``host:pid`` of ``host:pid#claim``)."""
    return lease_owner.split("#", 1)[0]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _same_host_pid(holder: str) -> int | None:
    """The pid of a ``host:pid`` holder on this host, else None."""
    host, sep, pid = holder.rpartition(":")
    if not sep or host != HOST or not pid.isdigit():
        return None
    return int(pid)


@dataclass
class Liveness:
    """Which holders are known alive or dead at ``now``."""

    beats: dict[str, datetime]
    now: datetime

    def dead(self, lease_owner: str | None) -> bool:
        """True only when the holder is known dead; unknown holders (another host without
        a heartbeat row, an older version's random names) are left to their timer."""
        if not lease_owner:
            return False
        holder = holder_of(lease_owner)
        if holder == process_name():
            return False
        pid = _same_host_pid(holder)
        if pid is not None:
            return not _pid_alive(pid)
        beat = self.beats.get(holder)
        return beat is not None and beat < self.now - STALE_AFTER


def process_name() -> str:
    return f"{HOST}:{os.getpid()}"


def liveness(session: Session, now: datetime) -> Liveness:
    rows = session.execute(select(ProcessHeartbeat.holder, ProcessHeartbeat.beat_at))
    return Liveness({h: at for h, at in rows}, now)


def beat(factory: sessionmaker[Session], holder: str, now: datetime) -> None:
    """Say that ``holder`` is alive (insert or refresh its row)."""
    with factory() as session, session.begin():
        row = session.get(ProcessHeartbeat, holder)
        if row is None:
            host, _, pid = holder.rpartition(":")
            session.add(
                ProcessHeartbeat(
                    holder=holder,
                    host=host[:100],
                    pid=int(pid) if pid.isdigit() else 0,
                    started_at=now,
                    beat_at=now,
                )
            )
        else:
            row.beat_at = now


def forget(factory: sessionmaker[Session], holder: str) -> None:
    with factory() as session, session.begin():
        session.execute(delete(ProcessHeartbeat).where(ProcessHeartbeat.holder == holder))


class Heartbeat:
    """A thread that beats for ``holder`` until stopped (then deletes its row)."""

    def __init__(
        self, factory: sessionmaker[Session], holder: str, clock: Any, every: float = BEAT_EVERY
    ) -> None:
        self.factory, self.holder, self.clock, self.every = factory, holder, clock, every
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        beat(self.factory, self.holder, self.clock())
        self.thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop_event.wait(self.every):
            try:
                beat(self.factory, self.holder, self.clock())
            except Exception as exc:  # the database blinked: the next beat will do
                log.warning("heartbeat_failed", error=str(exc))

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        with contextlib.suppress(Exception):
            forget(self.factory, self.holder)


@dataclass
class Recovered:
    syncs: list[int]
    analyses: list[int]
    operations: list[int]

    def __bool__(self) -> bool:
        return bool(self.syncs or self.analyses or self.operations)


def free_dead_leases(factory: sessionmaker[Session], *, now: datetime) -> Recovered:
    """Free the sync leases and outbox leases of dead processes; the work is due now."""
    out = Recovered([], [], [])
    with factory() as session, session.begin():
        alive = liveness(session, now)
        leased = session.execute(
            select(Account.id, Account.sync_lease_owner).where(
                Account.sync_lease_owner.is_not(None)
            )
        )
        for account_id, owner in leased:
            if alive.dead(owner):
                session.execute(
                    update(Account)
                    .where(Account.id == account_id, Account.sync_lease_owner == owner)
                    .values(sync_lease_owner=None, sync_lease_until=None, next_sync_at=now)
                    .execution_options(synchronize_session=False)
                )
                out.syncs.append(account_id)
        writing = session.execute(
            select(OutboxOperation.id, OutboxOperation.lease_owner).where(
                OutboxOperation.state == "writing", OutboxOperation.lease_until >= now
            )
        )
        for op_id, owner in writing:
            if alive.dead(owner):
                session.execute(
                    update(OutboxOperation)
                    .where(OutboxOperation.id == op_id, OutboxOperation.lease_owner == owner)
                    .values(lease_until=now - timedelta(seconds=1))
                    .execution_options(synchronize_session=False)
                )
                out.operations.append(op_id)
        stale = [h for h, at in alive.beats.items() if at < now - STALE_AFTER * 20]
        if stale:  # long gone: keep the table small
            session.execute(delete(ProcessHeartbeat).where(ProcessHeartbeat.holder.in_(stale)))
    if out:
        log.info("recovered_dead_leases", syncs=len(out.syncs), operations=len(out.operations))
    return out


def _due_now(session: Session, accounts: Iterable[int], now: datetime) -> None:
    ids = list(accounts)
    if ids:
        session.execute(
            update(Account)
            .where(Account.id.in_(ids), Account.next_sync_at > now)
            .values(next_sync_at=now)
            .execution_options(synchronize_session=False)
        )


def recover_at_start(factory: sessionmaker[Session], *, now: datetime) -> Recovered:
    """What the previous scheduler had in flight is due now (see the module docstring)."""
    out = free_dead_leases(factory, now=now)
    with factory() as session, session.begin():
        accounts = list(
            session.scalars(
                select(Account).where(
                    Account.status.in_(SYNCABLE), Account.sync_lease_owner.is_(None)
                )
            )
        )
        unfinished = {
            a.id
            for a in accounts
            if a.last_sync_at is None or unfinished_streams(session, a.owner_id, account_id=a.id)
        }
        _due_now(session, unfinished, now)
        out.syncs.extend(sorted(unfinished - set(out.syncs)))
        owners = list(
            session.scalars(
                select(Owner.id).where(
                    Owner.analysis_due_at.is_not(None), Owner.analysis_due_at > now
                )
            )
        )
        if owners:
            session.execute(
                update(Owner)
                .where(Owner.id.in_(owners))
                .values(analysis_due_at=now)
                .execution_options(synchronize_session=False)
            )
        out.analyses.extend(owners)
    log.info(
        "recovered_at_start",
        syncs=len(out.syncs),
        analyses=len(out.analyses),
        operations=len(out.operations),
    )
    return out
