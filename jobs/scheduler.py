"""The scheduler: decides from the database what is due, and enqueues it.

Due, as the store says:

- a sync, for each account that may sync (``ok`` or ``error``; not ``needs_reconsent`` or
  ``disabled``) whose ``next_sync_at`` has passed and whose lease is free;
- an analysis, for each owner whose ``analysis_due_at`` has passed (a sync brought news),
  or whose last analysis is older than :data:`REANALYSE_EVERY` (time alone makes
  contacts overdue and promises late); the planner runs after each analysis;
- each outbox operation that is ready (``ready_operations``);
- a plan, for each owner analysed ten minutes ago and not planned since (its message was lost);
- once an hour (and when a scheduler takes over): fate detection for accounts with written
  items (a sync that brought news also checks them at once); once a day: a token refresh
  for every usable account; push subscriptions that expire within a day are renewed.

When it enqueues a sync or an analysis it pushes ``next_sync_at`` / ``analysis_due_at``
a grace period ahead. A lost message therefore only delays the work by that grace; a
repeated one finds the lease taken or nothing new. Work held by a process that died is
taken back at once (:mod:`rapportd.jobs.recovery`): every tick frees the leases of dead
holders, and a scheduler that becomes the active one first makes due what its
predecessor had in flight (unfinished backfills, analyses still due). Exactly one scheduler runs at a time
(:func:`rapportd.jobs.locks.named_lock` "scheduler"); others stand by and take over when
the lock frees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.clock import now as clock_now
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.models import Account, OutboxOperation, Owner, PushSubscription
from rapportd.jobs import recovery, tasks
from rapportd.jobs.locks import NamedLock
from rapportd.jobs.metrics import ENQUEUED

log = get_logger(__name__)

SYNC_GRACE = timedelta(minutes=10)
ANALYSIS_GRACE = timedelta(minutes=10)
REANALYSE_EVERY = timedelta(hours=6)
SWEEP_EVERY = timedelta(hours=24)  # token refresh
FATES_EVERY = timedelta(hours=1)  # fate checks of accounts with written items
PUSH_RENEW_AHEAD = timedelta(days=1)
RECENT_TTL = timedelta(seconds=60)
# A ready outbox op is enqueued again (its message may have been lost with a killed worker)
# after RECENT_TTL, then after twice that, and so on up to this cap: a backlog in the queue
# costs a few extra messages per op (log2 of its wait), not one a minute.
RESEND_CAP = timedelta(hours=1)
SYNCABLE = ("ok", "error")
# a plan message is taken for lost only after this (before, it may simply wait in a long queue)
PLAN_LOST_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Enqueued:
    actor: str
    item_id: int
    why: str


@dataclass
class Memory:
    """What a scheduler remembers between ticks (lost on failover, which is harmless)."""

    last_sweep: datetime | None = None
    last_fates: datetime | None = None
    recent: dict[tuple[str, int], datetime] = field(default_factory=dict)
    # per key: how long to wait before sending it again (doubles while it stays ready)
    resend_after: dict[tuple[str, int], timedelta] = field(default_factory=dict)

    def seen_recently(self, key: tuple[str, int], now: datetime, ttl: timedelta) -> bool:
        at = self.recent.get(key)
        if at is not None and now - at < ttl:
            return True
        self.recent[key] = now
        return False

    def seen_recently_backing_off(
        self, key: tuple[str, int], now: datetime, first: timedelta, cap: timedelta
    ) -> bool:
        """Like :meth:`seen_recently`, but while a key stays due each resend doubles the
        wait before the next one (``first``, 2×, 4×, … up to ``cap``)."""
        wait = self.resend_after.get(key)
        if wait is not None and self.seen_recently(key, now, wait):
            return True
        self.recent[key] = now
        self.resend_after[key] = first if wait is None else min(cap, wait * 2)
        return False

    def still_due(self, actor: str, ids: set[int]) -> None:
        """Forget the back-off of ``actor`` keys no longer due: when one is due again later
        (a retry after its own back-off), it is sent at once."""
        self.forget(actor, [k[1] for k in self.resend_after if k[0] == actor and k[1] not in ids])

    def forget(self, actor: str, ids: Iterable[int]) -> None:
        """Send these ``actor`` keys at once when next due (their earlier message is lost)."""
        for i in ids:
            self.resend_after.pop((actor, i), None)
            self.recent.pop((actor, i), None)

    def forget_old(self, now: datetime) -> None:
        horizon = now - max(RECENT_TTL, RESEND_CAP, timedelta(hours=1)) * 2
        for key in [k for k, at in self.recent.items() if at < horizon]:
            del self.recent[key]
            self.resend_after.pop(key, None)


def due_syncs(session: Session, *, now: datetime) -> list[int]:
    rows = session.scalars(
        select(Account.id)
        .where(Account.status.in_(SYNCABLE))
        .where(or_(Account.next_sync_at.is_(None), Account.next_sync_at <= now))
        .where(or_(Account.sync_lease_until.is_(None), Account.sync_lease_until < now))
        .order_by(Account.next_sync_at.is_(None).desc(), Account.next_sync_at, Account.id)
    )
    return list(rows)


def due_analyses(session: Session, *, now: datetime) -> list[int]:
    synced = exists().where(Account.owner_id == Owner.id, Account.last_sync_at.is_not(None))
    rows = session.scalars(
        select(Owner.id)
        .where(
            or_(
                Owner.analysis_due_at <= now,
                and_(
                    Owner.analysis_due_at.is_(None),
                    or_(Owner.analysed_at.is_(None), Owner.analysed_at < now - REANALYSE_EVERY),
                    synced,
                ),
            )
        )
        .order_by(Owner.id)
    )
    return list(rows)


def unplanned(session: Session, *, now: datetime) -> list[int]:
    """Owners analysed more than :data:`PLAN_LOST_AFTER` ago and not planned since: the
    plan message the analysis sent was lost (a worker killed with it prefetched; sent
    again with a back-off, a repeat is harmless)."""
    return list(
        session.scalars(
            select(Owner.id).where(
                Owner.analysed_at.is_not(None),
                Owner.analysed_at < now - PLAN_LOST_AFTER,
                or_(Owner.planned_at.is_(None), Owner.planned_at < Owner.analysed_at),
            )
        )
    )


def usable_accounts(session: Session) -> list[int]:
    return list(session.scalars(select(Account.id).where(Account.status.in_(SYNCABLE))))


def accounts_with_written_items(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(OutboxOperation.account_id).where(OutboxOperation.state == "written").distinct()
        )
    )


def expiring_push(session: Session, *, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(PushSubscription.id).where(
                PushSubscription.expires_at.is_not(None),
                PushSubscription.expires_at < now + PUSH_RENEW_AHEAD,
            )
        )
    )


def accounts_without_push(session: Session, providers: set[str]) -> list[int]:
    """Usable accounts, synced at least once, of a provider with push on, with no channel."""
    if not providers:
        return []
    return list(
        session.scalars(
            select(Account.id).where(
                Account.provider.in_(sorted(providers)),
                Account.status.in_(SYNCABLE),
                Account.last_sync_at.is_not(None),
                ~select(PushSubscription.id)
                .where(PushSubscription.account_id == Account.id)
                .exists(),
            )
        )
    )


def tick(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    enqueue: Callable[..., None] | None = None,
    ready_operations: Callable[..., list[int]] | None = None,
    memory: Memory | None = None,
    grace: timedelta | None = None,
) -> list[Enqueued]:
    """One look at the database: enqueue what is due and return what was enqueued.

    ``grace``: how far the due time of an enqueued sync / analysis moves ahead, i.e. how
    long a lost message (a worker killed with messages prefetched) delays the work."""
    sync_grace = grace if grace is not None else SYNC_GRACE
    analysis_grace = grace if grace is not None else ANALYSIS_GRACE
    if enqueue is None:
        import dramatiq

        from rapportd.jobs.actors import enqueuer

        enqueue = enqueuer(dramatiq.get_broker())
    if ready_operations is None:
        from rapportd.jobs.runtime import Parts

        ready_operations = Parts.real().ready_operations
    memory = memory if memory is not None else Memory()
    out: list[Enqueued] = []

    with session_factory() as session, session.begin():
        for account_id in due_syncs(session, now=now):
            session.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(next_sync_at=now + sync_grace)
                .execution_options(synchronize_session=False)
            )
            out.append(Enqueued(tasks.SYNC, account_id, "due"))
        for owner_id in due_analyses(session, now=now):
            session.execute(
                update(Owner)
                .where(Owner.id == owner_id)
                .values(analysis_due_at=now + analysis_grace)
                .execution_options(synchronize_session=False)
            )
            out.append(Enqueued(tasks.ANALYSE, owner_id, "due"))
    # Enqueue only after the markers are committed: a worker that picks the message up at
    # once sees them, and a crash in between merely delays the work by the grace.
    with session_factory() as session:
        try:
            ready = list(ready_operations(session, now=now))
        except Exception as exc:  # the outbox part may be missing; syncing still matters
            log.warning("ready_operations_failed", error=str(exc))
            ready = []
        memory.still_due(tasks.WRITE, set(ready))
        owners = unplanned(session, now=now)
        memory.still_due(tasks.PLAN, set(owners))
        for owner_id in owners:
            if not memory.seen_recently_backing_off(
                (tasks.PLAN, owner_id), now, PLAN_LOST_AFTER, RESEND_CAP
            ):
                out.append(Enqueued(tasks.PLAN, owner_id, "not planned since analysis"))
        for op_id in ready:
            if not memory.seen_recently_backing_off(
                (tasks.WRITE, op_id), now, RECENT_TTL, RESEND_CAP
            ):
                out.append(Enqueued(tasks.WRITE, op_id, "ready"))
        if memory.last_fates is None or now - memory.last_fates >= FATES_EVERY:
            memory.last_fates = now
            for account_id in accounts_with_written_items(session):
                out.append(Enqueued(tasks.FATES, account_id, "hourly"))
        if memory.last_sweep is None or now - memory.last_sweep >= SWEEP_EVERY:
            memory.last_sweep = now
            for account_id in usable_accounts(session):
                out.append(Enqueued(tasks.REFRESH, account_id, "daily"))
        for account_id in accounts_without_push(session, tasks.push_providers(settings)):
            if not memory.seen_recently((tasks.ENSURE_PUSH, account_id), now, timedelta(hours=1)):
                out.append(Enqueued(tasks.ENSURE_PUSH, account_id, "no channel"))
        for sub_id in expiring_push(session, now=now):
            if not memory.seen_recently((tasks.RENEW_PUSH, sub_id), now, timedelta(hours=1)):
                out.append(Enqueued(tasks.RENEW_PUSH, sub_id, "expiring"))
    memory.forget_old(now)

    for item in out:
        enqueue(item.actor, item.item_id)
        ENQUEUED.labels(item.actor).inc()
    if out:
        log.debug("scheduled", count=len(out))
    return out


class Scheduler:
    """Runs :func:`tick` every ``interval`` seconds while it holds the scheduler lock."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        lock: NamedLock,
        *,
        enqueue: Callable[..., None],
        ready_operations: Callable[..., list[int]] | None = None,
        interval: float = 2.0,
        grace: timedelta | None = None,
        clock: Callable[[], datetime] = clock_now,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.lock = lock
        self.enqueue = enqueue
        self.ready_operations = ready_operations
        self.interval = interval
        self.grace = grace
        self.clock = clock
        self.memory = Memory()
        self.active = False
        self.ticks = 0
        self.wake = threading.Event()

    def step(self) -> list[Enqueued]:
        """Take (or keep) the lock, then tick; stand by when another scheduler holds it."""
        held = self.lock.still_held() if self.active else self.lock.acquire()
        became_active = held and not self.active
        if held != self.active:
            log.info("scheduler_active" if held else "scheduler_standby", lock=self.lock.name)
            if held:
                self.memory = Memory()  # a new leader sweeps at once
        self.active = held
        if not held:
            return []
        now = self.clock()
        try:
            if became_active:
                recovered = recovery.recover_at_start(self.session_factory, now=now)
            else:
                recovered = recovery.free_dead_leases(self.session_factory, now=now)
            # an op a dead worker was writing is sent again now, even if this scheduler
            # sent it less than a back-off ago (no tick saw it in ``writing`` in between)
            self.memory.forget(tasks.WRITE, recovered.operations)
        except Exception as exc:  # never let recovery stop the ticks
            log.warning("recovery_failed", error=str(exc))
        out = tick(
            self.session_factory,
            self.settings,
            now=now,
            enqueue=self.enqueue,
            ready_operations=self.ready_operations,
            memory=self.memory,
            grace=self.grace,
        )
        self.ticks += 1
        return out

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    self.step()
                except Exception as exc:  # the database blinked; keep going
                    log.warning("scheduler_tick_failed", error=str(exc))
                remaining = self.interval - (time.monotonic() - started)
                self.wake.wait(max(remaining, 0.05))
                self.wake.clear()
        finally:
            self.lock.release()
            self.active = False

    def thread(self, stop: threading.Event) -> threading.Thread:
        t = threading.Thread(target=self.run, args=(stop,), name="scheduler", daemon=True)
        t.start()
        return t
