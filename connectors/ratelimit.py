"""Spend each mailbox's quota without ever going over it, shared by every worker process.

Words:

bucket
    one quota of one mailbox, e.g. ``gmail:units:42`` (Gmail units of account 42) or
    ``graph:requests:7``. A bucket has a ``limit`` per ``window`` seconds.
spend
    :meth:`Limiter.acquire` blocks until ``units`` fit in the sliding window, then records
    them. The window is kept as one-second slots, so the limiter never spends more than
    ``limit`` in any ``window`` seconds (a fixed per-minute counter would allow twice the
    limit across a minute boundary), and still reaches ~98 % of the allowed rate.
pause
    a provider said "slow down" (429 / Retry-After): :meth:`Limiter.pause` makes every
    worker wait until then.

:class:`MemoryLimiter` serves one process (tests, the embedded mode); :class:`DbLimiter`
keeps the slots in the ``quota_windows`` table, so every worker process on every machine
spends from the same budget (PostgreSQL: an advisory transaction lock per bucket
serialises the check-and-spend; SQLite: ``BEGIN IMMEDIATE`` does).
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.clock import now as clock_now
from rapportd.agent.store.models import QuotaWindow

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Limiter(Protocol):
    def acquire(self, bucket: str, units: int, limit: int, window: float) -> float:
        """Block until ``units`` fit; return the seconds waited."""
        ...

    def pause(self, bucket: str, seconds: float) -> None: ...


def backoff(
    attempt: int, *, base: float = 0.5, cap: float = 30.0, retry_after: float | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): Retry-After when given,
    else exponential with full jitter."""
    if retry_after is not None:
        return min(cap * 4, retry_after) + random.uniform(0, 0.25)
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1))) + base / 2


class MemoryLimiter:
    """A sliding-window limiter for one process (thread-safe)."""

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._spent: dict[str, deque[tuple[float, int]]] = {}
        self._paused: dict[str, float] = {}

    def acquire(self, bucket: str, units: int, limit: int, window: float) -> float:
        units = min(units, limit)
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                log = self._spent.setdefault(bucket, deque())
                while log and log[0][0] <= now - window:
                    log.popleft()
                wait = self._paused.get(bucket, 0.0) - now
                if wait <= 0:
                    total = sum(u for _, u in log)
                    if total + units <= limit:
                        log.append((now, units))
                        return waited
                    need, acc = total + units - limit, 0
                    for at, u in log:
                        acc += u
                        if acc >= need:
                            wait = at + window - now
                            break
            wait = max(wait, 0.01)
            self._sleep(wait)
            waited += wait

    def pause(self, bucket: str, seconds: float) -> None:
        with self._lock:
            until = self._clock() + seconds
            self._paused[bucket] = max(self._paused.get(bucket, 0.0), until)


class DbLimiter:
    """The same sliding window, with its slots in ``quota_windows`` (shared by processes)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        owner_id: int | None = None,
        clock: Callable[[], datetime] = clock_now,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._sessions, self._owner_id = sessions, owner_id
        self._clock, self._sleep = clock, sleep
        self._last_cleanup = 0.0

    def _lock(self, session: Session, bucket: str) -> None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(bucket.encode())}
            )

    def acquire(self, bucket: str, units: int, limit: int, window: float) -> float:
        units = min(units, limit)
        waited = 0.0
        while True:
            wait = self._try(bucket, units, limit, window)
            if wait <= 0:
                self._maybe_cleanup(window)
                return waited
            self._sleep(wait)
            waited += wait

    def _try(self, bucket: str, units: int, limit: int, window: float) -> float:
        with self._sessions() as session, session.begin():
            self._lock(session, bucket)
            now = self._clock()
            paused = session.scalar(
                select(func.max(QuotaWindow.window_start)).where(
                    QuotaWindow.bucket == f"{bucket}:pause"
                )
            )
            if paused is not None and paused > now:
                return (paused - now).total_seconds()
            slot = now.replace(microsecond=0)
            # The slot that began ``window`` seconds before this one still overlaps the
            # provider's sliding window (now - window, now]: count it too.
            since = slot - timedelta(seconds=window)
            rows = session.execute(
                select(QuotaWindow.window_start, QuotaWindow.spent)
                .where(QuotaWindow.bucket == bucket, QuotaWindow.window_start >= since)
                .order_by(QuotaWindow.window_start)
            ).all()
            total = sum(r.spent for r in rows)
            if total + units > limit:
                need, acc = total + units - limit, 0
                for start, spent in rows:
                    acc += spent
                    if acc >= need:
                        leaves = start + timedelta(seconds=window + 1)  # the whole slot is out
                        return max(0.01, (leaves - now).total_seconds())
                return 1.0
            current = session.scalar(
                select(QuotaWindow).where(
                    QuotaWindow.bucket == bucket, QuotaWindow.window_start == slot
                )
            )
            if current is None:
                session.add(
                    QuotaWindow(
                        owner_id=self._owner_id, bucket=bucket, window_start=slot, spent=units
                    )
                )
            else:
                current.spent += units
            return 0.0

    def pause(self, bucket: str, seconds: float) -> None:
        until = (self._clock() + timedelta(seconds=seconds)).replace(microsecond=0) + timedelta(
            seconds=1
        )
        with self._sessions() as session, session.begin():
            self._lock(session, bucket)
            exists = session.scalar(
                select(QuotaWindow.id).where(
                    QuotaWindow.bucket == f"{bucket}:pause", QuotaWindow.window_start == until
                )
            )
            if exists is None:
                session.add(
                    QuotaWindow(
                        owner_id=self._owner_id,
                        bucket=f"{bucket}:pause",
                        window_start=until,
                        spent=0,
                    )
                )

    def _maybe_cleanup(self, window: float) -> None:
        if time.monotonic() - self._last_cleanup < 60:
            return
        self._last_cleanup = time.monotonic()
        horizon = self._clock() - timedelta(seconds=max(window, 600) * 2)
        with self._sessions() as session, session.begin():
            session.execute(delete(QuotaWindow).where(QuotaWindow.window_start < horizon))


class Concurrency:
    """At most ``limit`` requests in flight per key, in this process (Graph: 4 per mailbox)."""

    _lock = threading.Lock()
    _sems: dict[str, threading.BoundedSemaphore] = {}

    @classmethod
    def slot(cls, key: str, limit: int) -> threading.BoundedSemaphore:
        with cls._lock:
            sem = cls._sems.get(key)
            if sem is None:
                sem = cls._sems[key] = threading.BoundedSemaphore(limit)
            return sem
