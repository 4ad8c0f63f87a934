"""The one clock: every part of rapportd asks :func:`now` what time it is.

Sync windows, the text window, analysis, planning, quiet and working hours, the outbox, the
scheduler, the review page and the sandbox all read the time here, never from
``datetime.now`` / ``time.time``. A run can hold the clock at an instant: ``rapportd replay``
runs the whole product on a 2001 archive as of its last day, and tests freeze time.

Words:

wall clock
    :class:`SystemClock`, the machine's time. The default.
held clock
    :class:`HeldClock`, an instant chosen by the run that then moves with real time
    (``ticking=True``, the default) or stands still (``ticking=False``); it can be moved
    forward by :meth:`HeldClock.advance` (the sandbox's "a day passes") or set again.

Durations measured inside one process (timeouts, back-off sleeps, benchmarks) keep using
``time.monotonic`` / ``time.perf_counter``: they ask "how long", not "what time".

Distributed processes agree on a held clock through the ``clock`` settings: ``as_of`` is
the instant the clock showed at the wall-clock moment ``anchor`` (default: when the process
started), so processes started with the same pair show the same time. Every process entry
(the ``rapportd`` command's root callback, so ``run``, ``worker``, ``scheduler``, ``web``,
``demo``, ``replay``, ``sync`` and the rest) applies them with :func:`configure`.

:func:`wall_now` is the one door to the machine's time for what a third party checks
against the real clock (JWT ``iat``/``exp`` read by google-auth and msal, a certificate's
validity, a provider's HTTP-date ``Retry-After``). Its callers are an allow-list in
``tests/foundation/test_one_clock.py``; everything else asks :func:`now`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, an aware UTC datetime."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class HeldClock:
    """An instant chosen by the run, moving with real time unless ``ticking=False``.

    ``anchor`` is the wall-clock instant at which the clock showed ``start`` (default: now),
    so several processes given the same (start, anchor) agree.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        ticking: bool = True,
        anchor: datetime | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.ticking = ticking
        self._start = _aware(start or datetime.now(UTC))
        self._real0 = time.monotonic()
        if anchor is not None:
            self._real0 -= (datetime.now(UTC) - _aware(anchor)).total_seconds()
        self._offset = timedelta()

    def now(self) -> datetime:
        with self._lock:
            elapsed = time.monotonic() - self._real0 if self.ticking else 0.0
            return self._start + timedelta(seconds=elapsed) + self._offset

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward (or back, with a negative delta)."""
        with self._lock:
            self._offset += delta
        return self.now()

    def set(self, when: datetime) -> None:
        """Show ``when`` from now on."""
        with self._lock:
            self._start = _aware(when)
            self._real0 = time.monotonic()
            self._offset = timedelta()

    def __repr__(self) -> str:
        return f"HeldClock({self.now().isoformat()}, ticking={self.ticking})"


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"the clock needs an aware datetime, not {when!r}")
    return when.astimezone(UTC)


_current: Clock = SystemClock()


def now() -> datetime:
    """The current instant (aware, UTC) on the process's clock."""
    return _current.now()


def current() -> Clock:
    """The process's clock (to share it, e.g. with an in-process sandbox)."""
    return _current


def use(clock: Clock) -> Clock:
    """Make ``clock`` the process's clock; returns the one it replaces."""
    global _current
    previous, _current = _current, clock
    return previous


@contextmanager
def held(at: datetime, *, ticking: bool = True) -> Iterator[HeldClock]:
    """Hold the process's clock at ``at`` for the duration of the block."""
    clock = HeldClock(at, ticking=ticking)
    previous = use(clock)
    try:
        yield clock
    finally:
        use(previous)


def configure(as_of: datetime | None, anchor: datetime | None = None) -> Clock:
    """Make the process's clock what the ``clock`` settings say and return it: the wall
    clock when ``as_of`` is None, else a ticking :class:`HeldClock` that showed ``as_of`` at
    the wall instant ``anchor`` (default: now, i.e. process start)."""
    clock: Clock = SystemClock() if as_of is None else HeldClock(as_of, anchor=anchor)
    use(clock)
    return clock


def wall_now() -> datetime:
    """The machine's time, for what a third party checks against the real clock only (see
    the module docstring; callers are allow-listed by a test)."""
    return datetime.now(UTC)


def epoch_seconds() -> float:
    """:func:`now` as POSIX seconds, where a float timestamp is wanted."""
    return now().timestamp()
