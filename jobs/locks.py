"""Named locks for the daemon, whatever the number of processes (an account's sync lease
is the sync's own: :mod:`rapportd.connectors.sync.lease`).

A named lock is a non-blocking, process-wide lock with a name (the scheduler's, one owner's
analysis). :func:`named_lock` picks the backend from the settings: a PostgreSQL advisory
lock on a connection of its own (released by the server if the process dies), a Redis key
with an expiry (renewed by the holder), or, for the embedded SQLite set-up, a file lock
(``fcntl.flock``) plus an in-process mutex.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, text

from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings

log = get_logger(__name__)


def holder_id(role: str = "worker") -> str:
    """A name for this process that is unique across machines (host, pid, random)."""
    return f"{role}:{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- named locks
class NamedLock(Protocol):
    """A non-blocking lock. ``acquire`` returns at once; ``still_held`` re-checks (and renews)."""

    name: str

    def acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


def _key64(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``."""
    return int.from_bytes(
        hashlib.sha256(f"rapportd:{name}".encode()).digest()[:8], "big", signed=True
    )


class PostgresAdvisoryLock:
    """``pg_try_advisory_lock`` held on a connection of its own for as long as we hold it.

    If the process dies the server closes the session and the lock is free again.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = _key64(name)
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self._conn is not None:
            return self.still_held()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            # A session-level advisory lock lasts as long as the session; only we could
            # unlock it, so a live connection means we still hold it.
            self._conn.execute(text("SELECT 1"))
        except Exception:  # the connection died: the server released the lock
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(Exception):
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLock:
    """``SET key token NX PX ttl``; renewed and released only by the token's holder."""

    def __init__(self, url: str, name: str, *, ttl: float = 30.0) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url)
        self.name = name
        self.key = f"rapportd:lock:{name}"
        self.ttl_ms = int(ttl * 1000)
        self.token = uuid.uuid4().hex
        self._held = False

    def acquire(self) -> bool:
        if self._held:
            return self.still_held()
        self._held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self._held

    def still_held(self) -> bool:
        if not self._held:
            return False
        try:
            self._held = bool(self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))
        except Exception:
            self._held = False
        return self._held

    def release(self) -> None:
        if self._held:
            with contextlib.suppress(Exception):
                self.client.eval(_RELEASE, 1, self.key, self.token)
        self._held = False


_LOCAL_MUTEXES: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


class FileLock:
    """``flock`` on a file in the data dir (between processes) plus a mutex (between threads).

    For the embedded set-up on SQLite, where every role runs on one machine.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self._fh: Any = None
        with _LOCAL_GUARD:
            self._mutex = _LOCAL_MUTEXES.setdefault(str(path), threading.Lock())

    def acquire(self) -> bool:
        if self._fh is not None:
            return True
        if not self._mutex.acquire(blocking=False):
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            self._mutex.release()
            return False
        self._fh = fh
        return True

    def still_held(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()
            self._mutex.release()


@dataclass(frozen=True)
class LockPlan:
    """Which backend :func:`named_lock` uses, and why (shown by ``rapportd scheduler``)."""

    backend: str  # postgres | redis | file
    detail: str


def lock_plan(settings: Settings, engine: Engine) -> LockPlan:
    if engine.dialect.name == "postgresql":
        return LockPlan("postgres", "PostgreSQL advisory lock")
    redis_url = settings.redis_lock_url or (
        settings.broker if settings.broker.startswith(("redis://", "rediss://")) else ""
    )
    if redis_url:
        return LockPlan("redis", redis_url)
    return LockPlan("file", str(Path(settings.data_dir) / "locks"))


def named_lock(settings: Settings, engine: Engine, name: str, *, ttl: float = 30.0) -> NamedLock:
    """The right lock for this deployment (see the module docstring)."""
    plan = lock_plan(settings, engine)
    if plan.backend == "postgres":
        return PostgresAdvisoryLock(engine, name)
    if plan.backend == "redis":
        return RedisLock(plan.detail, name, ttl=ttl)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return FileLock(Path(plan.detail) / f"{safe}.lock", name)
