"""An account's sync lease: a time-bounded claim stored in the account row itself
(``Account.sync_lease_owner`` / ``sync_lease_until``), taken with one atomic conditional
``UPDATE``. It works the same on SQLite and PostgreSQL, outlives no crash longer than its
expiry, and needs no other service. The holder renews it while it works
(:class:`LeaseKeeper`) and releases it when done, or on shutdown (:func:`release_all`).

Holder names: :func:`process_holder` (host and pid) for every sync this process runs, so a
sync started under a lease finds it already its own; threads of one process are kept apart
by the caller (``rapportd.jobs.tasks`` holds an in-process mutex per account).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.logs import get_logger
from rapportd.agent.store.models import Account

log = get_logger(__name__)


def process_holder() -> str:
    """This process's name on the leases it takes: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _run(factory: sessionmaker[Session], stmt: Any) -> int:
    with factory() as session, session.begin():
        result: Any = session.execute(stmt.execution_options(synchronize_session=False))
        return int(result.rowcount or 0)


def take(
    factory: sessionmaker[Session], account_id: int, holder: str, *, now: datetime, ttl: float
) -> bool:
    """Claim the account's sync for ``ttl`` seconds; True if this holder has it now.

    The row changes only when the lease is free, expired, or already ours, so two workers
    racing for it cannot both win (the database serialises the two writes and the loser's
    WHERE no longer matches)."""
    stmt = (
        update(Account)
        .where(Account.id == account_id)
        .where(
            or_(
                Account.sync_lease_owner.is_(None),
                Account.sync_lease_until.is_(None),
                Account.sync_lease_until < now,
                Account.sync_lease_owner == holder,
            )
        )
        .values(sync_lease_owner=holder, sync_lease_until=now + timedelta(seconds=ttl))
    )
    return _run(factory, stmt) == 1


def renew(
    factory: sessionmaker[Session], account_id: int, holder: str, *, now: datetime, ttl: float
) -> bool:
    """Push the lease's expiry on; False if it is no longer ours (it expired and was taken)."""
    stmt = (
        update(Account)
        .where(Account.id == account_id, Account.sync_lease_owner == holder)
        .values(sync_lease_until=now + timedelta(seconds=ttl))
    )
    return _run(factory, stmt) == 1


def release(factory: sessionmaker[Session], account_id: int, holder: str) -> bool:
    """Give the lease back if it is still ours."""
    stmt = (
        update(Account)
        .where(Account.id == account_id, Account.sync_lease_owner == holder)
        .values(sync_lease_owner=None, sync_lease_until=None)
    )
    return _run(factory, stmt) == 1


def release_all(factory: sessionmaker[Session], holder: str) -> int:
    """On shutdown: give back every lease this holder has; returns how many."""
    stmt = (
        update(Account)
        .where(Account.sync_lease_owner == holder)
        .values(sync_lease_owner=None, sync_lease_until=None)
    )
    return _run(factory, stmt)


def due_when_free(factory: sessionmaker[Session], account_id: int) -> None:
    """Someone else holds the lease: the account is due again when it ends. A live holder
    overwrites ``next_sync_at`` when it finishes; a dead one's lease simply runs out."""
    _run(
        factory,
        update(Account)
        .where(Account.id == account_id, Account.sync_lease_until.is_not(None))
        .values(next_sync_at=Account.sync_lease_until),
    )


class LeaseKeeper:
    """Renews a lease in the background while the sync runs; ``lost`` is set when it is
    no longer ours (it expired, e.g. the process stalled, and another holder took it)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        account_id: int,
        holder: str,
        *,
        ttl: float,
        now: Callable[[], datetime],
    ) -> None:
        self.factory = factory
        self.account_id = account_id
        self.holder = holder
        self.ttl = ttl
        self.now = now
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{account_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        period = max(self.ttl / 3, 0.2)
        while not self._stop.wait(period):
            try:
                ok = renew(self.factory, self.account_id, self.holder, now=self.now(), ttl=self.ttl)
            except Exception as exc:  # the database blinked; try again next period
                log.warning("lease_renew_failed", account_id=self.account_id, error=str(exc))
                continue
            if not ok:
                self.lost.set()
                return


_LOCAL: dict[int, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


@contextlib.contextmanager
def _local_mutex(account_id: int) -> Iterator[bool]:
    """Between threads of this process (which share one holder name)."""
    with _LOCAL_GUARD:
        mutex = _LOCAL.setdefault(account_id, threading.Lock())
    got = mutex.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            mutex.release()


@contextlib.contextmanager
def held(
    factory: sessionmaker[Session],
    account_id: int,
    holder: str,
    *,
    ttl: float,
    now: Callable[[], datetime],
) -> Iterator[LeaseKeeper | None]:
    """The account's lease for the block, renewed in the background and released at the
    end; None when another thread of this process or another holder has it (the account is
    then due again when their lease ends)."""
    with _local_mutex(account_id) as mine:
        if not mine:
            yield None
            return
        if not take(factory, account_id, holder, now=now(), ttl=ttl):
            due_when_free(factory, account_id)
            yield None
            return
        try:
            with LeaseKeeper(factory, account_id, holder, ttl=ttl, now=now) as keeper:
                yield keeper
        finally:
            release(factory, account_id, holder)
