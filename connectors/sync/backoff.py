"""When to sync next: jitter on success, capped exponential back-off after errors.

Pure functions; the scheduler and the sync task share them so that the database always
says when an account is due, whatever happened to the message that last synced it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MIN_ERROR_BACKOFF = 60.0
MAX_ERROR_BACKOFF = 6 * 3600.0
JITTER = 0.1


def sync_delay(
    interval: float,
    consecutive_errors: int = 0,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next sync of an account.

    No errors: the interval ±10 % (jitter spreads accounts over time so they do not all
    hit the provider at once). After ``n`` errors in a row: ``max(interval, 60 s) * 2^(n-1)``
    capped at 6 h, ±10 %, and never sooner than the provider's ``Retry-After``.
    """
    rng = rng or random.Random()
    jitter = rng.uniform(1 - JITTER, 1 + JITTER)
    if consecutive_errors <= 0:
        return interval * jitter
    base = max(interval, MIN_ERROR_BACKOFF) * 2 ** min(consecutive_errors - 1, 30)
    delay = min(base, MAX_ERROR_BACKOFF) * jitter
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def next_sync_at(
    now: datetime,
    interval: float,
    consecutive_errors: int = 0,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    return now + timedelta(
        seconds=sync_delay(interval, consecutive_errors, retry_after=retry_after, rng=rng)
    )
