"""Sync leases and named locks: exclusive whatever the number of threads or processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.store.models import Account
from rapportd.connectors.sync import lease
from rapportd.jobs import locks

from .helpers import NOW, add_account, add_owner


def test_only_one_of_many_racing_holders_gets_the_lease(sessions: sessionmaker[Session]) -> None:
    acc = add_account(sessions, add_owner(sessions))
    barrier = threading.Barrier(8)
    winners: list[str] = []

    def race(i: int) -> None:
        barrier.wait()
        if lease.take(sessions, acc, f"h{i}", now=NOW, ttl=60):
            winners.append(f"h{i}")

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    with sessions() as s:
        row = s.get(Account, acc)
        assert row is not None and row.sync_lease_owner == winners[0]


def test_lease_expires_renews_and_releases(sessions: sessionmaker[Session]) -> None:
    acc = add_account(sessions, add_owner(sessions))
    assert lease.take(sessions, acc, "a", now=NOW, ttl=30)
    assert not lease.take(sessions, acc, "b", now=NOW + timedelta(seconds=29), ttl=30)
    assert lease.take(sessions, acc, "a", now=NOW + timedelta(seconds=1), ttl=30)
    # a's lease runs out: b takes it, a can no longer renew or release it
    later = NOW + timedelta(seconds=40)
    assert lease.take(sessions, acc, "b", now=later, ttl=30)
    assert not lease.renew(sessions, acc, "a", now=later, ttl=30)
    assert not lease.release(sessions, acc, "a")
    assert lease.renew(sessions, acc, "b", now=later, ttl=30)
    assert lease.release_all(sessions, "b") == 1
    assert lease.take(sessions, acc, "c", now=later, ttl=30)


def test_file_lock_is_exclusive_between_threads_and_processes(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "scheduler.lock"
    first = locks.FileLock(path, "scheduler")
    second = locks.FileLock(path, "scheduler")
    assert first.acquire()
    assert not second.acquire()
    probe = (
        "import fcntl,sys; f=open(sys.argv[1],'a+');\n"
        "try:\n fcntl.flock(f.fileno(), fcntl.LOCK_EX|fcntl.LOCK_NB); print('got')\n"
        "except OSError: print('busy')"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True)
    assert out.stdout.strip() == "busy"
    first.release()
    assert second.acquire()
    second.release()
    out = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True)
    assert out.stdout.strip() == "got"


@pytest.mark.postgres
def test_postgres_advisory_lock_is_exclusive_and_freed_with_its_connection(
    postgres_engine,  # type: ignore[no-untyped-def]
) -> None:
    a = locks.PostgresAdvisoryLock(postgres_engine, "scheduler")
    b = locks.PostgresAdvisoryLock(postgres_engine, "scheduler")
    other = locks.PostgresAdvisoryLock(postgres_engine, "owner-1")
    assert a.acquire() and a.still_held()
    assert not b.acquire()
    assert other.acquire()
    assert a._conn is not None
    a._conn.invalidate()  # the session dies (as when the process is killed)
    assert not a.still_held()
    assert b.acquire()
    b.release()
    other.release()


@pytest.mark.redis
def test_redis_lock_is_exclusive_expires_and_only_its_holder_releases(redis_url: str) -> None:
    import time
    import uuid

    name = f"test-{uuid.uuid4().hex[:8]}"
    a = locks.RedisLock(redis_url, name, ttl=0.3)
    b = locks.RedisLock(redis_url, name, ttl=0.3)
    assert a.acquire()
    assert not b.acquire()
    b.release()  # not the holder: must not free a's lock
    assert not b.acquire()
    assert a.still_held()  # renews
    time.sleep(0.5)  # a stops renewing (as if dead): the key expires
    assert b.acquire()
    assert not a.still_held()
    b.release()
